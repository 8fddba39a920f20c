# PostgreSQL: reuse the machine's server (or install Debian's), make it capable of logical
# replication, and create the databases Tributary's stack uses.

PG_HOST=127.0.0.1
PG_PORT=5432
PG_DATABASES=(infoportal warehouse registry)

pg_query() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "${2:-postgres}" -tAX -v ON_ERROR_STOP=1 -c "$1"; }

pg_cluster() { pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1" "$2}'; }

pg_start_cluster() {
  local cluster; cluster=$(pg_cluster)
  [ -n "$cluster" ] || fail "no PostgreSQL cluster found (pg_lsclusters shows none)"
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $cluster start >>"$STACK_LOGS/postgres.log" 2>&1 || true
}

pg_restart_cluster() {
  local cluster; cluster=$(pg_cluster)
  say "restarting PostgreSQL $cluster once to apply the replication settings"
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $cluster restart >>"$STACK_LOGS/postgres.log" 2>&1 ||
    fail "PostgreSQL did not restart; see $STACK_LOGS/postgres.log"
}

postgres_up() {
  command -v pg_lsclusters >/dev/null || apt_install postgresql postgresql-contrib
  port_open "$PG_HOST" "$PG_PORT" || pg_start_cluster
  wait_until 60 "PostgreSQL" pg_query "select 1" ||
    fail "PostgreSQL does not answer on $PG_HOST:$PG_PORT as user postgres (trust auth expected on loopback)"

  local restart=no
  [ "$(pg_query "show wal_level")" = logical ] || restart=yes
  [ "$(pg_query "show max_replication_slots")" -ge 20 ] || restart=yes
  [ "$(pg_query "show max_wal_senders")" -ge 20 ] || restart=yes
  if [ $restart = yes ]; then
    pg_query "alter system set wal_level = logical" >/dev/null
    pg_query "alter system set max_replication_slots = 20" >/dev/null
    pg_query "alter system set max_wal_senders = 20" >/dev/null
    pg_restart_cluster
    wait_until 60 "PostgreSQL" pg_query "select 1" || fail "PostgreSQL did not come back after the restart"
  fi
  local database
  for database in "${PG_DATABASES[@]}"; do
    [ "$(pg_query "select count(*) from pg_database where datname = '$database'")" = 1 ] ||
      pg_query "create database $database" >/dev/null
  done
}

postgres_status() {
  if pg_query "select 1" >/dev/null 2>&1; then
    status_row postgres "postgres://postgres@$PG_HOST:$PG_PORT" up \
      "$(pg_query "show server_version" | cut -d' ' -f1), wal_level=$(pg_query "show wal_level"), dbs: ${PG_DATABASES[*]}"
  else
    status_row postgres "postgres://postgres@$PG_HOST:$PG_PORT" down ""
  fi
}

# The machine's Postgres is not ours to stop: the stack only configured it.
postgres_down() { :; }
