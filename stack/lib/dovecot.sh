# Dovecot IMAP from Debian's packages, run as the stack's own instance (own config and
# certificate under .stack/dovecot, own users and Maildir), so the machine's configuration is
# left alone.

DOVECOT_HOME="$STACK_HOME/dovecot"
DOVECOT_CONF="$DOVECOT_HOME/dovecot.conf"
# What Dovecot's unprivileged processes read and write (the users file, the Maildir, its sockets)
# lives outside the checkout, one directory per checkout: they could not reach it inside one
# that others may not enter (a clone into `mktemp -d` or /root is mode 700).
DOVECOT_DATA="/var/lib/tributary-stack/$(printf '%s' "$STACK_HOME" | sha256sum | cut -c1-12)/dovecot"
DOVECOT_TLS_PORT=1993
DOVECOT_STARTTLS_PORT=1143
DOVECOT_USER=bi@example.test
DOVECOT_PASSWORD=tributary
# Clients verify the server certificate against this CA (imapflow: tls.ca).
DOVECOT_CA="$DOVECOT_HOME/tls/ca.pem"

dovecot_certificates() {
  local tls="$DOVECOT_HOME/tls"
  [ -f "$tls/server.pem" ] && [ -f "$DOVECOT_CA" ] && return 0
  mkdir -p "$tls"
  say "generating a CA and a server certificate for Dovecot"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Tributary local stack CA" \
    -keyout "$tls/ca.key" -out "$DOVECOT_CA" >/dev/null 2>&1 || fail "openssl could not create the CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$DOVECOT_CA" -CAkey "$tls/ca.key" -CAcreateserial -days 3650 \
    -extfile "$tls/server.ext" -out "$tls/server.pem" >/dev/null 2>&1 || fail "openssl could not sign the server certificate"
  chmod 600 "$tls/server.key" "$tls/ca.key"
}

dovecot_configure() {
  # Every level enterable by others, whatever the umask.
  install -d -m 755 /var/lib/tributary-stack "$(dirname "$DOVECOT_DATA")" "$DOVECOT_DATA" "$DOVECOT_DATA/run"
  # Mail is stored as the unprivileged `mail` user; Dovecot refuses to run mail processes as root.
  install -d -m 700 -o mail -g mail "$DOVECOT_DATA/mail"
  printf '%s:{PLAIN}%s::::::\n' "$DOVECOT_USER" "$DOVECOT_PASSWORD" >"$DOVECOT_DATA/users"
  chmod 640 "$DOVECOT_DATA/users" && chgrp dovecot "$DOVECOT_DATA/users"
  sed -e "s#@HOME@#$DOVECOT_HOME#g" -e "s#@DATA@#$DOVECOT_DATA#g" -e "s#@TLS_PORT@#$DOVECOT_TLS_PORT#g" \
    -e "s#@STARTTLS_PORT@#$DOVECOT_STARTTLS_PORT#g" "$STACK_SRC/dovecot/dovecot.conf" >"$DOVECOT_CONF"
}

dovecot_up() {
  if [ -f "$DOVECOT_DATA/run/master.pid" ] && pid_alive "$DOVECOT_DATA/run/master.pid" &&
    port_open 127.0.0.1 $DOVECOT_TLS_PORT; then return 0; fi
  port_open 127.0.0.1 $DOVECOT_TLS_PORT && fail "port $DOVECOT_TLS_PORT is taken by a process this stack did not start"
  command -v dovecot >/dev/null || apt_install dovecot-imapd
  command -v openssl >/dev/null || apt_install openssl
  is_root || fail "Dovecot is started as root (it drops privileges itself); run the stack as root"
  dovecot_certificates
  dovecot_configure
  say "starting Dovecot IMAP on 127.0.0.1:$DOVECOT_TLS_PORT (TLS) and :$DOVECOT_STARTTLS_PORT (STARTTLS)"
  dovecot -c "$DOVECOT_CONF" >>"$STACK_LOGS/dovecot.log" 2>&1 || fail "Dovecot did not start; see $STACK_LOGS/dovecot.log"
}

dovecot_wait() {
  wait_until 30 Dovecot port_open 127.0.0.1 $DOVECOT_TLS_PORT ||
    fail "Dovecot did not listen on $DOVECOT_TLS_PORT; see $STACK_LOGS/dovecot.log"
}

dovecot_status() {
  if port_open 127.0.0.1 $DOVECOT_TLS_PORT && port_open 127.0.0.1 $DOVECOT_STARTTLS_PORT; then
    status_row imap "imaps://127.0.0.1:$DOVECOT_TLS_PORT, :$DOVECOT_STARTTLS_PORT" up \
      "Dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1), user $DOVECOT_USER / $DOVECOT_PASSWORD, CA ${DOVECOT_CA#"$REPO_ROOT"/}"
  else
    status_row imap "imaps://127.0.0.1:$DOVECOT_TLS_PORT" down "log: $STACK_LOGS/dovecot.log"
  fi
}

dovecot_down() {
  [ -f "$DOVECOT_CONF" ] && pid_alive "$DOVECOT_DATA/run/master.pid" || return 0
  say "stopping Dovecot"
  doveadm -c "$DOVECOT_CONF" stop >/dev/null 2>&1 || stop_pidfile dovecot "$DOVECOT_DATA/run/master.pid"
}
