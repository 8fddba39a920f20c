#!/usr/bin/env bash
# The local stack: real Kafka, schema registry, Postgres, MariaDB and Dovecot, installed, configured
# and started by the project itself (no Docker engine needed).
#
#   bash stack/stack.sh up       install what is missing, start what is stopped, wait, print status
#   bash stack/stack.sh status   print the status table
#   bash stack/stack.sh down     stop what the stack started (the machine's Postgres/MariaDB stay up)
#
# Idempotent: `up` on a running stack only checks and prints the table.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
for part in common postgres mariadb kafka apicurio dovecot; do source "$here/lib/$part.sh"; done

up() {
  postgres_up
  mariadb_up
  # The JVMs boot in parallel; the registry needs Postgres (above), not Kafka.
  kafka_up
  apicurio_up
  dovecot_up
  kafka_wait
  apicurio_wait
  dovecot_wait
}

status() {
  postgres_status
  mariadb_status
  kafka_status
  apicurio_status
  dovecot_status
  print_status_table
  for row in "${STATUS_ROWS[@]}"; do [[ "$row" == *"|down|"* ]] && return 1; done
  return 0
}

down() {
  dovecot_down
  apicurio_down
  kafka_down
  postgres_down
  mariadb_down
}

case "${1:-}" in
  up) up && status ;;
  status) status ;;
  down) down && say "stopped (the machine's PostgreSQL and MariaDB keep running)" ;;
  *) echo "usage: bash stack/stack.sh up|status|down" >&2; exit 2 ;;
esac
