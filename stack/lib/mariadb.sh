# MariaDB: reuse the machine's server (or install Debian's), turn on the row-based binlog with full
# row images and metadata that binlog readers need, and create the OBE database.

MARIADB_HOST=127.0.0.1
MARIADB_PORT=3306
MARIADB_CONF=/etc/mysql/conf.d/tributary.cnf

maria_query() { mariadb -h "$MARIADB_HOST" -P "$MARIADB_PORT" -uroot -N -B -e "$1"; }

maria_start() {
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >>"$STACK_LOGS/mariadb.log" 2>&1
}

maria_binlog_ready() {
  [ "$(maria_query "select @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata")" = \
    "$(printf '1\tROW\tFULL\tFULL')" ]
}

mariadb_up() {
  command -v mariadbd >/dev/null || apt_install mariadb-server
  port_open "$MARIADB_HOST" "$MARIADB_PORT" || maria_start
  wait_until 60 "MariaDB" maria_query "select 1" ||
    fail "MariaDB does not answer on $MARIADB_HOST:$MARIADB_PORT as root (empty password expected on loopback)"

  if ! maria_binlog_ready; then
    is_root || fail "MariaDB's binlog is not ROW/FULL; as root, this script writes $MARIADB_CONF and restarts it"
    mkdir -p "$(dirname "$MARIADB_CONF")"
    cat >"$MARIADB_CONF" <<'CNF'
# Written by Tributary's stack (stack/lib/mariadb.sh): the binlog settings change-data capture needs.
[mariadbd]
server_id = 1
log_bin = mysql-bin
binlog_format = ROW
binlog_row_image = FULL
binlog_row_metadata = FULL
binlog_expire_logs_seconds = 172800
CNF
    grep -q '^!includedir /etc/mysql/conf.d' /etc/mysql/my.cnf 2>/dev/null ||
      printf '\n!includedir /etc/mysql/conf.d/\n' >>/etc/mysql/my.cnf
    say "restarting MariaDB once to turn on the row-based binlog"
    mariadb-admin -h "$MARIADB_HOST" -P "$MARIADB_PORT" -uroot shutdown >>"$STACK_LOGS/mariadb.log" 2>&1
    # start-stop-daemon would see a server still shutting down as "already running".
    wait_until 60 "MariaDB to stop" sh -c "! pidof mariadbd"
    maria_start
    wait_until 60 "MariaDB" maria_query "select 1" || fail "MariaDB did not come back; see /var/log/mysql/error.log"
    maria_binlog_ready || fail "MariaDB restarted without the binlog settings of $MARIADB_CONF"
  fi
  maria_query "create database if not exists obe_v8" >/dev/null
}

mariadb_status() {
  if maria_query "select 1" >/dev/null 2>&1; then
    status_row mariadb "mysql://root@$MARIADB_HOST:$MARIADB_PORT" up \
      "$(maria_query "select version()" | cut -d- -f1), binlog $(maria_query "select @@binlog_format"), db obe_v8"
  else
    status_row mariadb "mysql://root@$MARIADB_HOST:$MARIADB_PORT" down ""
  fi
}

# The machine's MariaDB is not ours to stop.
mariadb_down() { :; }
