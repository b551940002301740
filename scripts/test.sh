#!/usr/bin/env bash
# The whole suite, each pass where it proves something, and what each took:
#
#   lint            ruff and mypy
#   no database     the emulator, Data API client, dataset, boundaries,
#                   contract and picture suites: they touch no database, so
#                   they run once
#   SQLite          everything that touches the database, against the
#                   reference clinic's models, one import process
#   PostgreSQL      the migration's suites against a clinic app of the real
#                   shape (tests/generic_clinic: UUID keys, required names, an
#                   Image.save() that recounts), two import processes
#   stacks          noxfile.py's rows: Django 4.2 + psycopg2 on Python 3.11,
#                   Django 5.2 + psycopg 3 on Python 3.13, each installed as a
#                   clinic would, on SQLite and PostgreSQL
#
# Independent tests run in parallel (pytest-xdist, one per core). PostgreSQL
# is installed (when missing) and started on a private port, and stopped after.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PYTEST=("$BIN/pytest" -n "${TEST_JOBS:-auto}" --dist loadfile)

NO_DATABASE=(tests/boundaries tests/contract tests/dataapi tests/dataset
    tests/emulator tests/images)
DATABASE=(tests/operations tests/own_project tests/pipeline tests/reliability
    tests/targets tests/units tests/web)
# The migration's suites, held to the same oracle with the second target.
GENERIC_SUITES=(
    tests/pipeline/test_import_end_to_end.py  # the oracle, 1 and 16 workers, rerun, --limit, --dry-run
    tests/pipeline/test_failures.py           # S3, database and FileMaker refusing, then a rerun
    # the database refusing every write, on PostgreSQL's terms
    tests/reliability/test_fault_matrix.py::test_the_database_refusing_every_write_stops_cleanly
    tests/reliability/test_crash_resume.py    # kill points and resume
    tests/reliability/test_lock_and_secrets.py tests/reliability/test_hostile_input.py
    tests/operations                           # relink, rollback, refresh, verify and its planted faults
    tests/pipeline/test_processes.py          # worker processes, a killed worker, a joining host
    tests/pipeline/test_worker_errors.py      # a worker's error in one line
    tests/units tests/generic_clinic tests/own_project
)

TIMES=()
timed() {  # timed NAME COMMAND...: run it, and keep how long it took
    local name=$1 start=$SECONDS
    shift
    echo "== $name"
    "$@"
    TIMES+=("$(printf '%6ds  %s' $((SECONDS - start)) "$name")")
}
finish() {
    local status=$?
    [ "$(type -t stop_postgres)" = function ] && stop_postgres
    echo "== time of each pass"
    printf '%s\n' "${TIMES[@]}"
    printf '%6ds  in all\n' "$SECONDS"
    exit "$status"
}
trap finish EXIT

# The browser tests drive Debian's Chromium; Playwright never downloads one.
if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

lint() {
    "$BIN/ruff" check .
    "$BIN/ruff" format --check .
    "$BIN/mypy"
}
timed "lint" lint
timed "no database" "${PYTEST[@]}" "${NO_DATABASE[@]}" "$@"
timed "SQLite: the reference clinic" "${PYTEST[@]}" "${DATABASE[@]}" "$@"

source scripts/postgres.sh
timed "PostgreSQL: start" start_postgres
export DATABASE_URL="$PG_URL"
DJANGO_SETTINGS_MODULE=tests.generic_clinic.settings TEST_IMPORT_PROCESSES=2 \
    timed "PostgreSQL: a clinic app of the real shape, two processes" \
    "${PYTEST[@]}" "${GENERIC_SUITES[@]}" "$@"

# nox finds each row's Python on PATH; under pyenv, make them all visible.
if command -v pyenv >/dev/null; then
    PYENV_VERSION=$(pyenv versions --bare | grep -E '^3\.1[1-3]\.[0-9]+$' | paste -sd: -)
    export PYENV_VERSION
fi
if python3.13 --version >/dev/null 2>&1; then
    timed "stacks (noxfile.py)" "$BIN/nox"
else
    # Debian 12 has no Python 3.13: the row still runs, on this Python, and
    # says so (docs/own-project.md, Supported versions).
    echo "== no Python 3.13 on this machine: the current row runs on $($BIN/python --version)"
    timed "stacks (noxfile.py; current on this Python)" \
        bash -c "$BIN/nox -s clinic-stack && $BIN/nox -s current --force-python $BIN/python"
fi
