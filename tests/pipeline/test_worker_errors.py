"""With worker processes, an error is the one line it is with one process.

A forked worker prints no traceback (multiprocessing would): its error goes
back to the starting command, which says it in the one line it uses for its
own (`--traceback` adds the worker's traceback), or, when the others
finished the worker's records, in one warning line.
"""

from __future__ import annotations

import os
import socket
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError

from filemaker_migration.pipeline import claims
from tests.pipeline.checks import assert_clean_end_state
from tests.pipeline.test_import_end_to_end import import_patients
from tests.pipeline.test_processes import manage

pytestmark = pytest.mark.django_db(transaction=True)


def import_with_workers(*args: str) -> str:
    """The import with two worker processes; what it printed."""
    out = StringIO()
    call_command(
        "import_filemaker_images",
        *("--processes", "2", "--workers", "4", *args),
        stdout=out,
        stderr=out,
    )
    return out.getvalue()


def failing_lines(settings, *args: str, **env: str) -> list[str]:
    """`manage.py import_filemaker_images --processes 2`, as an operator runs
    it, failing: what it says. No traceback from it or its workers."""
    command = manage(
        settings, "import_filemaker_images", "--processes", "2", *args, **env
    )
    out, err = command.communicate(timeout=300)
    assert command.returncode == 1, out + err
    assert "Traceback" not in err, err
    return err.strip().splitlines()


def failing_command(settings, **env: str) -> str:
    """As failing_lines, for an error said in one line."""
    lines = failing_lines(settings, **env)
    assert len(lines) == 1, lines
    return lines[0]


def test_a_wrong_layout(settings, migration_env, emulator):
    import_patients()
    line = failing_command(settings, FM_LAYOUT="API_Imagez")
    assert "API_Imagez" in line


def test_filemaker_on_a_closed_port(settings, migration_env, emulator):
    line = failing_command(settings, FM_URL="https://127.0.0.1:1")
    assert "127.0.0.1:1" in line


def test_s3_unreachable_for_the_workers(settings, migration_env, emulator):
    """Every worker's puts fail: one warning line a record, as with one
    process, then the tripwire's line naming the endpoint and its setting."""
    import_patients()
    with socket.socket() as sock:  # bound, never listening: refused
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
        lines = failing_lines(settings, "--skip-s3-preflight", S3_ENDPOINT_URL=endpoint)
    *warnings, last = lines
    assert warnings
    assert all("failed: s3_put_failed" in line for line in warnings), warnings
    assert last.startswith("CommandError: stopped early: 5 records in a row failed")
    assert f"no connection to {endpoint}: check S3_ENDPOINT_URL" in last


def test_the_database_failing_in_a_worker(
    capfd, caplog, monkeypatch, migration_env, emulator
):
    """A database error in both workers, and only there: they end, the
    starting command finishes their records and says so, one line each."""
    import_patients()
    # Only a worker claims records: a database that fails for its claims
    # alone cannot be arranged otherwise (the fork copies this patch).
    here = os.getpid()

    def claim(self, count):
        if os.getpid() != here:
            raise OperationalError("the database refused the claim")
        return original(self, count)

    original = claims.Seat.claim
    monkeypatch.setattr(claims.Seat, "claim", claim)
    capfd.readouterr()
    import_with_workers()
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    told = sorted(r.getMessage() for r in caplog.records if "ended early" in r.msg)
    assert told == [
        f"import-worker-{n} ended early (OperationalError: the database refused "
        "the claim); the others finished its records"
        for n in (1, 2)
    ]
    assert_clean_end_state(emulator.dataset, migration_env)
