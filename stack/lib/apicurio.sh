# Apicurio Registry (Confluent-compatible API at /apis/ccompat/v7), the Maven Central distribution,
# storing its schemas in the local Postgres database `registry` so ids survive restarts.
#
# Version: 3.0.9. Maven Central publishes the `-all.tar.gz` distribution only for 3.0.9 and 3.3.x;
# no 3.1.x or 3.2.x distribution exists there, and 3.3.x needs Java 21 (this machine has Java 17).

APICURIO_VERSION=3.0.9
APICURIO_SHA1=4deac01752711c32da5662e7b778b61c5e904746
APICURIO_URL="https://repo.maven.apache.org/maven2/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
APICURIO_HOME="$STACK_HOME/apicurio"
APICURIO_DIR="$APICURIO_HOME/$APICURIO_VERSION"
APICURIO_PID="$APICURIO_HOME/apicurio.pid"
APICURIO_BASE=http://127.0.0.1:8081
APICURIO_CCOMPAT="$APICURIO_BASE/apis/ccompat/v7"

apicurio_fetch() {
  [ -f "$APICURIO_DIR/apicurio-registry-app-$APICURIO_VERSION-runner.jar" ] && return 0
  local archive="$STACK_HOME/downloads/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  mkdir -p "$STACK_HOME/downloads" "$APICURIO_DIR"
  if [ ! -f "$archive" ] || [ "$(sha1sum "$archive" | cut -d' ' -f1)" != "$APICURIO_SHA1" ]; then
    say "downloading Apicurio Registry $APICURIO_VERSION from Maven Central"
    curl -fsSL --retry 3 -o "$archive.part" "$APICURIO_URL" || fail "could not download $APICURIO_URL"
    [ "$(sha1sum "$archive.part" | cut -d' ' -f1)" = "$APICURIO_SHA1" ] || fail "checksum mismatch for $APICURIO_URL"
    mv "$archive.part" "$archive"
  fi
  tar xzf "$archive" -C "$APICURIO_DIR"
}

apicurio_ready() { curl -fsS "$APICURIO_BASE/health/ready" >/dev/null 2>&1 && curl -fsS "$APICURIO_CCOMPAT/subjects" >/dev/null 2>&1; }

apicurio_up() {
  if pid_alive "$APICURIO_PID" && port_open 127.0.0.1 8081; then return 0; fi
  port_open 127.0.0.1 8081 && fail "port 8081 is taken by a process this stack did not start (another checkout's stack? run its 'npm run stack:down')"
  apicurio_fetch
  say "starting Apicurio Registry on $APICURIO_BASE"
  ( cd "$APICURIO_DIR" &&
    APICURIO_STORAGE_KIND=sql APICURIO_STORAGE_SQL_KIND=postgresql \
    APICURIO_DATASOURCE_URL="jdbc:postgresql://127.0.0.1:5432/registry" \
    APICURIO_DATASOURCE_USERNAME=postgres APICURIO_DATASOURCE_PASSWORD=unused-with-trust-auth \
    QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=8081 QUARKUS_LOG_CONSOLE_JSON=false \
    start_background apicurio "$APICURIO_PID" java -Xms128m -Xmx384m -XX:TieredStopAtLevel=1 \
      -jar "apicurio-registry-app-$APICURIO_VERSION-runner.jar" )
}

apicurio_wait() {
  wait_until 120 "Apicurio Registry" apicurio_ready ||
    fail "Apicurio Registry did not answer on $APICURIO_BASE within 120 s; see $STACK_LOGS/apicurio.log"
}

apicurio_status() {
  if apicurio_ready; then
    status_row registry "$APICURIO_CCOMPAT" up "Apicurio Registry $APICURIO_VERSION, stored in Postgres db registry"
  else
    status_row registry "$APICURIO_CCOMPAT" down "log: $STACK_LOGS/apicurio.log"
  fi
}

apicurio_down() { stop_pidfile apicurio "$APICURIO_PID"; }
