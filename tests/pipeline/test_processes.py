"""Past one interpreter (issue #15): worker processes, and hosts that join.

Real processes throughout: the command forks its workers from this test
process (so they share its settings), and a second "host" is a separate
`manage.py import_filemaker_images --join` process against the same database,
FileMaker emulator and S3 server, as another machine would be.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from filemaker_migration.conf import usable_cores
from filemaker_migration.models import ImportRun
from filemaker_migration.models import RunWorker
from filemaker_migration.models import WorkItem
from tests.pipeline.checks import assert_clean_end_state
from tests.pipeline.checks import expected_records
from tests.pipeline.test_import_end_to_end import import_patients
from tests.pipeline.test_import_end_to_end import report_of
from tests.pipeline.test_import_end_to_end import run_import
from tests.reliability.test_crash_resume import BASE_DIR
from tests.reliability.test_crash_resume import child_env

pytestmark = pytest.mark.django_db(transaction=True)

# What the pager settles itself, without a download: never a worker's.
PAGER_REASONS = {"invalid_filemaker_id", "duplicate_filemaker_id", "no_recid"}


def worker_records(report: dict) -> int:
    return sum(1 for r in report["records"] if r["reason"] not in PAGER_REASONS)


def manage(settings, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env={**child_env(settings), **env},
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def import_surviving(settings, crash_at: str, *args: str) -> tuple[str, str]:
    """An import with two workers, some killed at `crash_at`, that the
    command still ends well; its output and error streams."""
    command = manage(
        settings,
        "import_filemaker_images",
        "--processes",
        "2",
        *args,
        MIGRATION_CRASH_AT=crash_at,
    )
    out, err = command.communicate(timeout=600)
    assert command.returncode == 0, err[-3000:]
    return out, err


def test_worker_processes_import_what_one_process_does(migration_env, emulator):
    import_patients()
    output = run_import("--processes", "2", "--workers", "4")
    report = report_of(output)

    assert "records finished by 2 workers: " in output
    assert_clean_end_state(emulator.dataset, migration_env)
    assert report["totals"]["seen"] == len(expected_records(emulator.dataset))
    assert report["processes"] == 2
    workers = report["workers"]
    assert len(workers) == 2
    assert not any(worker["lost"] for worker in workers)
    # Every record a worker finished is in the one report, once.
    assert sum(worker["records"] for worker in workers) == worker_records(report)
    assert report["workers_filemaker_bytes"] > 0
    # The workers' CPU is in the report, part by part.
    cpu = report["cpu_seconds"]
    assert all(cpu[part] > 0 for part in ("page", "download", "check", "s3"))
    assert cpu["claims"] > 0
    assert not WorkItem.objects.exists(), "the run's shared work is tidied away"


def test_a_second_run_with_processes_changes_nothing(migration_env, emulator):
    import_patients()
    run_import("--processes", "2")
    downloads = emulator.app.backend.seen["stream_bodies"]
    again = report_of(run_import("--processes", "2"))
    assert emulator.app.backend.seen["stream_bodies"] == downloads
    assert again["totals"].get("imported", 0) == 0
    assert_clean_end_state(emulator.dataset, migration_env)


def test_a_killed_worker_s_records_are_finished_by_the_other(
    settings, migration_env, emulator
):
    """SIGKILL worker 1 of 2 mid-run: worker 2 takes its records over and the
    run itself ends clean; a rerun then has nothing to do."""
    import_patients()
    out, _err = import_surviving(settings, "after_upload:5@1", "--workers", "4")
    assert_clean_end_state(emulator.dataset, migration_env)
    report = report_of(out)
    lost = [worker for worker in report["workers"] if worker["lost"]]
    assert len(lost) == 1, report["workers"]
    assert report["totals"]["failed"] == 0

    downloads = emulator.app.backend.seen["stream_bodies"]
    rerun = report_of(run_import("--processes", "2"))
    assert rerun["totals"].get("imported", 0) == 0
    assert emulator.app.backend.seen["stream_bodies"] == downloads


def test_when_every_worker_dies_the_command_finishes_the_run(
    settings, migration_env, emulator
):
    """Both workers SIGKILLed at their third commit, while the pager is still
    offering records: the starting command finishes everything itself."""
    import_patients()
    out, err = import_surviving(
        settings,
        "after_persist:3@1,after_persist:3@2",
        "--workers",
        "2",
        "--page-size",
        "5",
    )
    assert_clean_end_state(emulator.dataset, migration_env)
    workers = report_of(out)["workers"]
    assert [w["lost"] for w in workers].count(True) == 2, workers
    assert "every worker process ended with records left" in err


def ended_within(pid: int, seconds: float) -> bool:
    """Whether process `pid` has ended (or ends within `seconds`): waits on
    the kernel's notice of its exit (a pidfd), not on a clock."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], seconds)
        return bool(readable)
    finally:
        os.close(fd)


def test_the_workers_die_with_the_command_that_started_them(
    settings, migration_env, emulator
):
    """SIGKILL the starting command mid-run: its workers die with it (no
    orphan goes on working), and a rerun reaches the clean end state."""
    import_patients()
    first = manage(
        settings,
        "import_filemaker_images",
        "--processes",
        "2",
        "--workers",
        "4",
        MIGRATION_CRASH_AT="after_register:30@0",
    )
    first.communicate(timeout=600)
    assert first.returncode == -signal.SIGKILL
    pids = [
        int(owner.split(":")[1])
        for owner in RunWorker.objects.values_list("owner", flat=True)
    ]
    assert len(pids) == 2
    assert all(ended_within(pid, 30) for pid in pids)

    run_import("--processes", "2")
    assert_clean_end_state(emulator.dataset, migration_env)


def test_a_host_that_joins_shares_the_run(settings, migration_env, emulator):
    """A second host, simulated: its own command, started before the import,
    waits for it, joins it and ends with it; the report covers it."""
    import_patients()
    # Slow enough that the run lasts well past the joiner's first look.
    emulator.faults.latency_ms = 40
    joiner = manage(settings, "import_filemaker_images", "--join", "--workers", "4")
    report = report_of(run_import("--processes", "2", "--workers", "4"))
    out, err = joiner.communicate(timeout=600)

    assert joiner.returncode == 0, err[-3000:]
    assert "joined run" in out
    assert_clean_end_state(emulator.dataset, migration_env)
    assert len(report["workers"]) == 3  # two forked, one joined
    assert sum(w["records"] for w in report["workers"]) == worker_records(report)
    assert RunWorker.objects.filter(left_at__isnull=True).count() == 0


def test_join_with_no_run_says_so(migration_env):
    with pytest.raises(CommandError, match="run 12345 is not running"):
        call_command("import_filemaker_images", "--join", "12345", stdout=StringIO())


def test_join_with_no_wait_and_no_run_says_so_at_once(migration_env):
    out = StringIO()
    with pytest.raises(CommandError, match="no import is running"):
        call_command("import_filemaker_images", "--join", "--wait", "0", stdout=out)
    assert "waiting" not in out.getvalue()


def test_wait_without_join_is_refused(migration_env):
    with pytest.raises(CommandError, match="--wait goes with --join"):
        call_command("import_filemaker_images", "--wait", "5", stdout=StringIO())


def test_more_processes_than_cores_are_capped_with_one_line(migration_env, emulator):
    cores = usable_cores()  # this machine's, whatever they are
    call_command("import_filemaker_patients", stdout=StringIO())
    err = StringIO()
    call_command(
        "import_filemaker_images",
        *("--processes", str(cores + 1), "--limit", "3"),
        stdout=StringIO(),
        stderr=err,
    )
    assert err.getvalue().splitlines() == [
        f"{cores + 1} worker processes asked for, but this command may use "
        f"{cores} core(s): running {cores} (use --join on other hosts for more)"
    ]
    assert ImportRun.objects.get().options["processes"] == cores


def test_join_refuses_options_of_the_starting_command(migration_env):
    with pytest.raises(CommandError, match="--join works on a run already started"):
        call_command(
            "import_filemaker_images", "--join", "--limit", "3", stdout=StringIO()
        )


def test_a_bad_processes_setting_is_named(settings, migration_env):
    settings.FILEMAKER_MIGRATION_PROCESSES = "many"
    with pytest.raises(CommandError, match="FILEMAKER_MIGRATION_PROCESSES='many'"):
        call_command("import_filemaker_images", stdout=StringIO())
    assert not ImportRun.objects.exists()
