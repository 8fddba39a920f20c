#!/bin/bash
# Keep this file NOT executable: the entrypoint sources it (so docker_process_sql exists).
# Sourced by the mysql image's entrypoint on first start. The image gives MYSQL_USER all
# privileges on MYSQL_DATABASE; binlog capture also needs these global privileges.
# docker_process_sql is the entrypoint's own helper (connects as root over the socket).
docker_process_sql --database=mysql <<SQL
GRANT REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.* TO '${MYSQL_USER}'@'%';
FLUSH PRIVILEGES;
SQL
