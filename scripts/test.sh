#!/usr/bin/env bash
# Set up and run every check: ruff, mypy --strict, and the test suite on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev

# The tests use the PostgreSQL server on 127.0.0.1:5432 (trust auth); start it if it is down.
if command -v pg_lsclusters >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

export TCP_NODELAY=1
# The suite runs on SQLite and on PostgreSQL: an unreachable server fails the run, not skips.
export NADIR_REQUIRE_POSTGRES=1
.venv/bin/ruff check imaging synthetic pacs measurement api tests bench web/scripts
.venv/bin/mypy
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
