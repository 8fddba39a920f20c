# Apache Kafka in KRaft combined mode, run from Maven Central jars (no release tarball needed).

KAFKA_HOME="$STACK_HOME/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_PID="$KAFKA_HOME/kafka.pid"
KAFKA_BOOTSTRAP=127.0.0.1:9092
KAFKA_HEAP="${TRIBUTARY_KAFKA_HEAP:--Xms256m -Xmx768m}"

# The jars are collected again only when stack/kafka/pom.xml changed.
kafka_fetch_jars() {
  local stamp="$KAFKA_LIBS/.pom.sha1" want
  want=$(sha1sum "$STACK_SRC/kafka/pom.xml" | cut -d' ' -f1)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  command -v mvn >/dev/null || fail "Maven (mvn) is needed to fetch Kafka's jars from Maven Central"
  say "fetching Kafka's jars from Maven Central"
  rm -rf "$KAFKA_LIBS" && mkdir -p "$KAFKA_LIBS"
  mvn -B -q -f "$STACK_SRC/kafka/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >"$STACK_LOGS/kafka-maven.log" 2>&1 ||
    fail "mvn could not fetch Kafka's jars; see $STACK_LOGS/kafka-maven.log"
  echo "$want" >"$stamp"
}

# kafka_java_command HEAP: sets KAFKA_JAVA to the JVM command line that runs classes from the stack's jars.
kafka_java_command() {
  # shellcheck disable=SC2206
  KAFKA_JAVA=(java $1 -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$STACK_SRC/kafka/log4j2.yaml" -cp "$KAFKA_LIBS/*")
}

kafka_answers() { "$STACK_SRC/bin/kafka-broker-api-versions" --bootstrap-server "$KAFKA_BOOTSTRAP" >/dev/null 2>&1; }

kafka_up() {
  if pid_alive "$KAFKA_PID" && port_open 127.0.0.1 9092; then return 0; fi
  port_open 127.0.0.1 9092 && fail "port 9092 is taken by a process this stack did not start (another checkout's stack? run its 'npm run stack:down')"
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  kafka_fetch_jars
  mkdir -p "$KAFKA_DATA"
  sed "s#@DATA_DIR@#$KAFKA_DATA#" "$STACK_SRC/kafka/server.properties" >"$KAFKA_HOME/server.properties"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    say "formatting Kafka's storage (KRaft, standalone controller)"
    kafka_java_command -Xmx256m
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --standalone \
      --cluster-id "$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      --config "$KAFKA_HOME/server.properties" >>"$STACK_LOGS/kafka.log" 2>&1 ||
      fail "formatting Kafka's storage failed; see $STACK_LOGS/kafka.log"
  fi
  say "starting Kafka on $KAFKA_BOOTSTRAP"
  kafka_java_command "$KAFKA_HEAP"
  start_background kafka "$KAFKA_PID" "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_HOME/server.properties"
}

kafka_wait() {
  wait_until 120 Kafka kafka_answers || fail "Kafka did not answer on $KAFKA_BOOTSTRAP within 120 s; see $STACK_LOGS/kafka.log"
}

kafka_status() {
  if port_open 127.0.0.1 9092 && kafka_answers; then
    status_row kafka "$KAFKA_BOOTSTRAP (controller :9093)" up "Kafka $(kafka_version), KRaft, data in ${KAFKA_DATA#"$REPO_ROOT"/}"
  else
    status_row kafka "$KAFKA_BOOTSTRAP" down "log: $STACK_LOGS/kafka.log"
  fi
}

kafka_version() { ls "$KAFKA_LIBS" 2>/dev/null | sed -n 's/^kafka_2.13-\(.*\)\.jar$/\1/p'; }

kafka_down() { stop_pidfile kafka "$KAFKA_PID"; }
