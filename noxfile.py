"""The supported stacks, each row in an environment of its own, with the app
installed as a clinic would install it (not editable, from this checkout).

    nox                          # every row (PostgreSQL: set DATABASE_URL)
    nox -s clinic-stack          # one row

scripts/test.sh runs both rows against the PostgreSQL server it starts. Each
row runs the own-project guide's steps (docs/own-project.md) on SQLite and
on PostgreSQL, then, on PostgreSQL with two worker processes and the second
test project (a clinic app's real shape: UUID keys, required names, an
`Image.save()` that recounts its batch), the oracle import, worker processes
and the crash/resume kill points. The main suite (scripts/test.sh) runs
everything else once, on the development stack.

The installed copy is what the own-project steps use (their subprocesses
run outside the checkout); the other suites run from the checkout, so they
import its `filemaker_migration` (the same code) with the row's installed
dependencies.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["clinic-stack", "current"]

HERE = Path(__file__).parent

# What a clinic app of the kind this migration serves runs today: installing
# the migration beside it must leave its framework and its driver alone.
CLINIC_APP = [
    "Django>=4.2,<5.0",
    "psycopg2-binary>=2.9,<2.10",
    "djangorestframework>=3.14,<3.15",
    "Pillow>=10.1,<10.2",
    "boto3>=1.34,<1.35",
]
KEPT = {"django", "psycopg2-binary"}

ON_SQLITE = ["tests/own_project"]
ON_POSTGRES = [
    "tests/own_project",  # docs/own-project.md's steps, in a fresh project
    "tests/pipeline/test_import_end_to_end.py",  # the oracle
    "tests/pipeline/test_processes.py",  # worker processes, a killed worker
    "tests/reliability/test_crash_resume.py",  # kill points and resume
    "tests/generic_clinic",  # the real shape's own: recounts, validation
]
# The Django version's own: the SQLite backend and the checks it needs.
VERSION_CHECKS = ["tests/units/test_sqlite_backend.py", "tests/targets/test_checks.py"]


# One test file per core at a time (pytest-xdist), as in scripts/test.sh.
PYTEST = ["pytest", "-p", "no:cacheprovider", "-n", "auto", "--dist", "loadfile"]


def _suites(session: nox.Session) -> None:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        session.error("DATABASE_URL must name a PostgreSQL server (scripts/test.sh)")
    session.run("python", "-c", "import django; print('Django', django.__version__)")
    sqlite = {
        "DATABASE_URL": f"sqlite:///{Path(session.create_tmp()) / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    session.run(*PYTEST, *VERSION_CHECKS, *ON_SQLITE, env=sqlite)
    postgres = {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "tests.generic_clinic.settings",
        "TEST_IMPORT_PROCESSES": "2",
    }
    session.run(*PYTEST, *ON_POSTGRES, env=postgres)


def _leaves_alone(session: nox.Session, kept: set[str]) -> None:
    """`pip install` of the app, asked first with --dry-run --report: it would
    install none of `kept` (the clinic's own versions stay)."""
    report = Path(session.create_tmp()) / "install-report.json"
    session.run(
        "pip", "install", "--quiet", "--dry-run", "--report", str(report), str(HERE)
    )
    changes = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    changes.pop("django-filemaker-migration", None)
    session.log(f"installing the app would change: {changes or 'nothing'}")
    if touched := sorted(kept & changes.keys()):
        session.error(f"installing the app would replace the clinic's {touched}")


@nox.session(name="clinic-stack", python="3.11")
def clinic_stack(session: nox.Session) -> None:
    """Python 3.11, Django 4.2 LTS, psycopg2, REST framework 3.14; the app's
    other dependencies at the lowest versions pyproject.toml allows."""
    session.install(*CLINIC_APP)
    _leaves_alone(session, KEPT)
    session.install("-c", "constraints/clinic-stack.txt", ".[test,psycopg2]")
    _suites(session)


@nox.session(name="current", python="3.13")
def current(session: nox.Session) -> None:
    """Python 3.13, Django 5.2 LTS, psycopg 3, the newest releases allowed."""
    session.install(".[test,postgres]")
    _suites(session)
