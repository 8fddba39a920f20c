# Shared helpers for the local stack scripts: paths, output, waiting, background processes.
# Sourced by stack/stack.sh; every part (postgres.sh, kafka.sh, ...) uses these.

STACK_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$STACK_SRC/.." && pwd)"
# Downloads, data and logs of the stack live here (gitignored).
STACK_HOME="${TRIBUTARY_STACK_HOME:-$REPO_ROOT/.stack}"
STACK_LOGS="$STACK_HOME/logs"
mkdir -p "$STACK_HOME" "$STACK_LOGS"

say() { printf '%s\n' "stack: $*" >&2; }
fail() { printf '%s\n' "stack: error: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second until it succeeds.
wait_until() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.5
  done
}

# apt_install PACKAGE...: installs Debian packages that are missing (needs root).
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  is_root || fail "missing Debian packages: ${missing[*]}; install them (sudo apt-get install ${missing[*]}) or run as root"
  say "installing ${missing[*]} from Debian's packages"
  # Keep the package's own init scripts from starting a second, system-wide server.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$STACK_LOGS/apt.log" 2>&1 ||
    { apt-get update -q >>"$STACK_LOGS/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$STACK_LOGS/apt.log" 2>&1; } ||
    { rm -f /usr/sbin/policy-rc.d; fail "apt-get install ${missing[*]} failed; see $STACK_LOGS/apt.log"; }
  rm -f /usr/sbin/policy-rc.d
}

# pid_alive PIDFILE: true when the process recorded in PIDFILE runs.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# start_background NAME PIDFILE COMMAND...: starts COMMAND detached from this shell (it outlives
# `npm run`), output appended to .stack/logs/NAME.log.
start_background() {
  local name=$1 pidfile=$2; shift 2
  setsid nohup "$@" >>"$STACK_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# stop_pidfile NAME PIDFILE: SIGTERM, then SIGKILL after 30 s.
stop_pidfile() {
  local name=$1 pidfile=$2
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  local pid; pid=$(cat "$pidfile")
  say "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null
  wait_until 30 "$name to stop" sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
  rm -f "$pidfile"
}

# Status rows, printed as a table by stack.sh: part, address, state, detail.
STATUS_ROWS=()
status_row() { STATUS_ROWS+=("$1|$2|$3|$4"); }

print_status_table() {
  printf '\n%-16s %-44s %-8s %s\n' PART ADDRESS STATE DETAIL
  local row part address state detail
  for row in "${STATUS_ROWS[@]}"; do
    IFS='|' read -r part address state detail <<<"$row"
    printf '%-16s %-44s %-8s %s\n' "$part" "$address" "$state" "$detail"
  done
  printf '\n'
}
