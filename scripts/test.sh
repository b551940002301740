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
"$BIN/mypy"

# The migration's own suites run twice: against the reference clinic's models
# (config.settings) and against a clinic app of another shape through the
# configurable target (tests/generic_clinic): the oracle, failures, crash
# resume and the operations. Gallery, API and browser tests
# are the reference clinic's own and run once. The second pass imports with
# two worker processes (claims through the database), the first with one.
GENERIC_SUITES=(
    tests/pipeline/test_import_end_to_end.py  # the oracle, 1 and 16 workers, rerun, --limit, --dry-run
    tests/pipeline/test_failures.py           # S3, database and FileMaker refusing, then a rerun
    tests/reliability/test_crash_resume.py    # kill points and resume
    tests/reliability/test_lock_and_secrets.py tests/reliability/test_hostile_input.py
    tests/operations                           # relink, rollback, refresh, verify and its planted faults
    tests/pipeline/test_processes.py          # worker processes, a killed worker, a joining host
    tests/units tests/generic_clinic
)
both_targets() {
    echo "== pytest on $1: the reference clinic"
    "$BIN/pytest" "${@:2}"
    echo "== pytest on $1: a clinic app of another shape (configurable target)"
    DJANGO_SETTINGS_MODULE=tests.generic_clinic.settings TEST_IMPORT_PROCESSES=2 \
        "$BIN/pytest" "${GENERIC_SUITES[@]}" "${@:2}"
}

both_targets SQLite "$@"

source scripts/postgres.sh
start_postgres
trap stop_postgres EXIT
DATABASE_URL="$PG_URL" both_targets PostgreSQL "$@"
