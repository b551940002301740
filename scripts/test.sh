#!/usr/bin/env bash
# The whole suite: lint, then pytest on SQLite, then on a PostgreSQL server this
# script installs (if needed) and starts on a private port, and stops after.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# The browser tests drive Debian's Chromium; Playwright never downloads one.
if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

"$BIN/ruff" check .
"$BIN/ruff" format --check .

echo "== pytest on SQLite"
"$BIN/pytest" "$@"

echo "== pytest on PostgreSQL"
source scripts/postgres.sh
start_postgres
trap stop_postgres EXIT
DATABASE_URL="$PG_URL" "$BIN/pytest" "$@"
