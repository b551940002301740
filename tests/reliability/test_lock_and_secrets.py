"""One import at a time; secrets and patient details never leave the process;
TLS verification is on and the only way past it is a CA bundle."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from filemaker_migration.conf import object_store
from filemaker_migration.models import ImportRun
from filemaker_migration.models import RunLock
from filemaker_migration.pipeline.runner import LOCK_NAME
from filemaker_migration.runlock import RunLockHandle
from tests.conftest import point_settings_at
from tests.conftest import start_emulator
from tests.pipeline.checks import assert_clean_end_state
from tests.reliability.test_crash_resume import child_env

pytestmark = pytest.mark.django_db(transaction=True)
BASE_DIR = Path(__file__).resolve().parents[2]


def test_a_second_import_is_refused_while_one_runs(migration_env):
    running = RunLockHandle(LOCK_NAME, None)  # a live run: this very process
    try:
        with pytest.raises(CommandError, match="another migration command is running"):
            call_command("import_filemaker_images", stdout=StringIO())
    finally:
        running.release()
    assert migration_env.list_keys("") == []
    assert not ImportRun.objects.exists()


def test_verify_is_refused_while_an_import_runs(migration_env, emulator):
    """Verify reading while an import writes would see records exported in
    FileMaker whose rows are not committed yet: it refuses, naming the run."""
    call_command("import_filemaker_patients", stdout=StringIO())
    run = ImportRun.objects.create()
    running = RunLockHandle(LOCK_NAME, run)  # an import's lock: it names its run
    try:
        with pytest.raises(
            CommandError, match=rf"another import is running \(run {run.pk}, "
        ):
            call_command("verify_filemaker_images", stdout=StringIO())
    finally:
        running.release()


def test_an_import_is_refused_while_verify_reads(migration_env, emulator):
    verifying = RunLockHandle(LOCK_NAME, None)  # as verify holds it
    try:
        with pytest.raises(
            CommandError, match=r"another migration command is running .*verify"
        ):
            call_command("import_filemaker_images", stdout=StringIO())
    finally:
        verifying.release()
    call_command("verify_filemaker_images", stdout=StringIO())  # lock released
    assert not RunLock.objects.exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(migration_env, emulator):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = timezone.now()
    RunLock.objects.create(
        name=LOCK_NAME,
        owner=f"{socket.gethostname()}:{dead.pid}",
        acquired_at=now,
        heartbeat_at=now,
    )
    call_command("import_filemaker_patients", stdout=StringIO())
    call_command("import_filemaker_images", "--workers", "8", stdout=StringIO())
    assert_clean_end_state(emulator.dataset, migration_env)
    assert not RunLock.objects.exists()


def test_a_lock_whose_heartbeat_stopped_is_taken_over(migration_env):
    old = timezone.now() - dt.timedelta(minutes=10)
    RunLock.objects.create(
        name=LOCK_NAME, owner="another-host:4242", acquired_at=old, heartbeat_at=old
    )
    call_command("import_filemaker_images", "--limit", "1", stdout=StringIO())
    assert ImportRun.objects.count() == 1


def test_a_fresh_lock_on_another_host_is_respected(migration_env):
    now = timezone.now()
    RunLock.objects.create(
        name=LOCK_NAME, owner="another-host:4242", acquired_at=now, heartbeat_at=now
    )
    with pytest.raises(CommandError, match="another-host:4242"):
        call_command("import_filemaker_images", stdout=StringIO())


def test_unknown_certificate_stops_the_import_with_a_clear_error(
    migration_env, settings
):
    settings.FILEMAKER = {**settings.FILEMAKER, "CA_BUNDLE": ""}
    with pytest.raises(CommandError, match=r"not trusted.*FM_CA_BUNDLE"):
        call_command("import_filemaker_images", stdout=StringIO())


def test_plain_http_filemaker_url_is_refused(migration_env, settings):
    settings.FILEMAKER = {**settings.FILEMAKER, "URL": "http://127.0.0.1:1"}
    with pytest.raises(CommandError, match="FM_URL must be an https"):
        call_command("import_filemaker_images", stdout=StringIO())


@pytest.mark.parametrize("missing", ["FM_URL", "FM_PASSWORD", "S3_BUCKET"])
def test_a_missing_setting_is_named_in_one_line(migration_env, settings, missing):
    group, key = (
        ("FILEMAKER", missing[3:]) if missing.startswith("FM_") else ("S3", "BUCKET")
    )
    setattr(settings, group, {**getattr(settings, group), key: ""})
    with pytest.raises(CommandError) as caught:
        call_command("import_filemaker_images", stdout=StringIO())
    message = str(caught.value)
    assert missing in message
    assert "\n" not in message


SECRET_PASSWORD = "Fm-Pa55word-ZQX-distinctive-91"
SECRET_KEY = "S3-secret-KEY-ZQX-distinctive-42"


def _clinic_with_distinctive_secrets(source: Path, target: Path) -> list[str]:
    """A copy of the clinic whose password and patient names are unmistakable."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("state", "tls"))
    meta = json.loads((target / "dataset.json").read_text())
    meta["accounts"] = [{"name": "api", "password": SECRET_PASSWORD}]
    (target / "dataset.json").write_text(json.dumps(meta))
    contacts = target / "records" / "API_Contacts.jsonl"
    names = []
    lines = []
    for n, line in enumerate(contacts.read_text().splitlines()):
        data = json.loads(line)
        data["First Name"] = f"Zorvanthia{n}"
        data["Last Name"] = f"Quillbrackenford{n}"
        names += [data["First Name"], data["Last Name"]]
        lines.append(json.dumps(data))
    contacts.write_text("\n".join(lines) + "\n")
    return names


def test_no_secret_or_patient_name_appears_in_any_output(
    settings, s3_server, clinic_dataset, emulator_tls_dir, tmp_path
):
    names = _clinic_with_distinctive_secrets(clinic_dataset, tmp_path / "clinic")
    running = start_emulator(
        tmp_path / "clinic", tmp_path / "fm-state", emulator_tls_dir
    )
    try:
        point_settings_at(settings, running, s3_server, "clinic-secrets")
        settings.FILEMAKER = {**settings.FILEMAKER, "PASSWORD": SECRET_PASSWORD}
        settings.S3 = {**settings.S3, "SECRET_ACCESS_KEY": SECRET_KEY}
        settings.STATE_DIR = tmp_path / "var"
        object_store().create_private_bucket()
        env = {**child_env(settings), "LOG_LEVEL": "DEBUG"}
        outputs = []
        for command in (
            ["import_filemaker_patients"],
            ["import_filemaker_images", "--workers", "8"],
            ["import_filemaker_images", "--dry-run"],
        ):
            done = subprocess.run(
                [sys.executable, str(BASE_DIR / "manage.py"), *command],
                env=env,
                cwd=BASE_DIR,
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
            outputs += [done.stdout, done.stderr]
    finally:
        running.server.stop()
        running.app.close()
    reports = list((tmp_path / "var" / "reports").glob("*.json"))
    assert len(reports) == 2
    outputs += [path.read_text() for path in reports]
    everything = "\n".join(outputs)
    assert "INFO" in everything, "the import logged at INFO and DEBUG"
    assert SECRET_PASSWORD not in everything
    assert SECRET_KEY not in everything
    leaked = [name for name in names if name in everything]
    assert leaked == []
