#!/usr/bin/env bash
# Extraction speed of the PostgreSQL and MySQL/MariaDB sources, each next to its server's own
# client in the same run: `psql -c "COPY (…) TO STDOUT" > /dev/null` and
# `mariadb --quick -e "SELECT …" > /dev/null` on the same 1M-row mixed-type table.
# Prints rows/s for both and grafter's ratio (goal ≥ 0.8). ROWS=n changes the table size.
#
#   bench/sql_scan.sh            # both servers
#   bench/sql_scan.sh postgres   # one of them (postgres | mysql)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/grafter-target}"
# The servers: scripts/services starts them (PostgreSQL 127.0.0.1:5432, MariaDB 127.0.0.1:3306).
eval "$(./scripts/services start postgres mariadb)"

which="${1:-all}"
if [ "$which" = all ] || [ "$which" = postgres ]; then
  echo "== PostgreSQL (127.0.0.1:5432) vs psql COPY"
  cargo run -q --profile profiling -p grafter-source --example postgres_scan
fi
if [ "$which" = all ] || [ "$which" = mysql ]; then
  echo "== MariaDB (127.0.0.1:3306) vs mariadb --quick"
  cargo run -q --profile profiling -p grafter-source --example mysql_scan
fi
