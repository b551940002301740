"""Crash-and-resume: the import is SIGKILLed mid-run, rerun, and must end exactly
where a clean run ends.

The import runs as a separate process (`manage.py import_filemaker_images`)
against the emulator and moto's S3 server, which live in this test process and
outlive the kills. Kill points are chosen from a seeded RNG: a crash point
(between two steps of a record) and how many times it is passed first. The
process then kills itself with SIGKILL at that moment (see
filemaker_migration/crashpoints.py): no cleanup runs, as in a power cut.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from filemaker_migration.crashpoints import POINTS
from filemaker_migration.models import RunLock
from tests.conftest import STRICT
from tests.conftest import assert_strict_server_met
from tests.conftest import import_processes
from tests.conftest import use_profile
from tests.pipeline.checks import assert_clean_end_state

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(django_settings.BASE_DIR)
QUICK_SEEDS = [1, 2, 3]
LONG_SEEDS = list(range(100, 120))


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def child_env(settings, crash_at: str = "") -> dict[str, str]:
    fm, s3 = settings.FILEMAKER, settings.S3
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MIGRATION_STATE_DIR": str(settings.STATE_DIR),
        "FM_URL": fm["URL"],
        "FM_DATABASE": fm["DATABASE"],
        "FM_ACCOUNT": fm["ACCOUNT"],
        "FM_PASSWORD": fm["PASSWORD"],
        "FM_CA_BUNDLE": fm["CA_BUNDLE"],
        "S3_BUCKET": s3["BUCKET"],
        "S3_ENDPOINT_URL": s3["ENDPOINT_URL"],
        "S3_REGION": s3["REGION"],
        "S3_ACCESS_KEY_ID": s3["ACCESS_KEY_ID"],
        "S3_SECRET_ACCESS_KEY": s3["SECRET_ACCESS_KEY"],
        "MIGRATION_CRASH_AT": crash_at,
        "IMPORT_PROCESSES": import_processes(),
    }
    # The child runs the same project as the test (the reference clinic, or
    # the generic one in the suite's second pass).
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get(
        "DJANGO_SETTINGS_MODULE", "config.settings"
    )
    return env


def run_child(settings, crash_at: str = "", workers: int = 8) -> int:
    done = subprocess.run(
        [
            sys.executable,
            str(BASE_DIR / "manage.py"),
            "import_filemaker_images",
            "--workers",
            str(workers),
            "--page-size",
            "25",
        ],
        env=child_env(settings, crash_at),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"import exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.returncode


def killing(point: str) -> tuple[str, int]:
    """A kill point for the suite's process count, and the command's exit.

    In one process it kills the run. With worker processes each counts its
    own passes, so the point is scaled to one worker's share and kills
    worker 1 only: the others take its records over and the run ends well.
    """
    processes = int(import_processes())
    if processes == 1:
        return point, -signal.SIGKILL
    name, _, count = point.partition(":")
    return f"{name}:{max(1, int(count) // processes)}@1", 0


def kill_point(seed: int) -> str:
    rng = random.Random(seed)
    return f"{rng.choice(POINTS)}:{rng.randint(1, 100)}"


def crash_then_resume(settings, seed: int) -> None:
    point = kill_point(seed)
    # The first run dies at the kill point (or finishes, if the point is
    # never reached that many times); a second kill point hits the rerun.
    run_child(settings, crash_at=point)
    run_child(settings, crash_at=kill_point(seed + 10_000))
    assert run_child(settings) == 0


def _prepare(settings, migration_env):
    call_command("import_filemaker_patients", stdout=StringIO())


@pytest.mark.parametrize("seed", QUICK_SEEDS)
def test_killed_import_resumes_to_the_clean_end_state(
    settings, migration_env, emulator, seed
):
    _prepare(settings, migration_env)
    crash_then_resume(settings, seed)
    assert_clean_end_state(emulator.dataset, migration_env)
    assert not RunLock.objects.exists(), "the last run released the lock"


@pytest.mark.slow
@pytest.mark.parametrize("seed", LONG_SEEDS)
def test_killed_import_resumes_long(settings, migration_env, emulator, seed):
    _prepare(settings, migration_env)
    crash_then_resume(settings, seed)
    assert_clean_end_state(emulator.dataset, migration_env)


# Three kill points across the stages, against everything a real server does
# at once (issue #14): stale URLs, token-protected streaming, one request at a
# time per session, locked records, web pages in place of files, portals.
STRICT_KILL_POINTS = ("after_download:17", "after_upload:29", "after_mark:41")


def test_killed_import_resumes_under_the_strict_server(
    settings, migration_env, emulator
):
    _prepare(settings, migration_env)
    use_profile(emulator, STRICT)
    for point in STRICT_KILL_POINTS:
        crash_at, exit_code = killing(point)
        assert run_child(settings, crash_at=crash_at) == exit_code, crash_at
    assert run_child(settings) == 0
    assert_clean_end_state(emulator.dataset, migration_env)
    assert_strict_server_met(emulator)


def test_a_killed_run_really_died_at_its_kill_point(settings, migration_env, emulator):
    _prepare(settings, migration_env)
    assert run_child(settings, crash_at="after_upload:3") == -signal.SIGKILL
    # Its lock is left behind, owned by a dead process: the next run takes it.
    assert RunLock.objects.count() == 1
    assert run_child(settings) == 0
    assert_clean_end_state(emulator.dataset, migration_env)
