"""docs/own-project.md ("Using it in your own Django project"), its steps run
literally.

A project made with `django-admin startproject` gets the guide's marked code
blocks (`<!-- own-project: FILE -->` on the line before a fence) written into
the files they name, the FileMaker and S3 values through the environment
variables those blocks read, and then runs the commands as a clinic would:
makemigrations, migrate, a small synthetic clinic served by the emulator, a
local S3 server, the patient and image imports (two worker processes of eight
threads), verify, and the run report page. Everything runs in subprocesses
that see only the installed app, never this repository's checkout (`import
clinic` must fail there).

The project's database is the one the suite runs on: SQLite as
`startproject` makes it, or, when the suite runs on PostgreSQL, a fresh
database of that server, set in the project's settings as any project sets
its own (that one setting is not the guide's).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreSettings

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "own-project.md"
BLOCK = re.compile(r"<!-- own-project: (\S+)( \(append\))? -->\n```\w*\n(.*?)```", re.S)
# Where the guide's file names live in a startproject layout.
PLACES = {"settings.py": "clinicsite/settings.py", "urls.py": "clinicsite/urls.py"}
SMALL = ("--images", "60", "--seed", "3")  # the default is the real clinic's size
TIMEOUT = 300  # seconds, for any one command
BUCKET = "own-project-images"
# The names the guide's S3 dict reads (not boto3's own AWS_* chain).
S3_KEYS = {
    "S3_ACCESS_KEY_ID": "test-access-key",
    "S3_SECRET_ACCESS_KEY": "test-secret",
}

# The run report page, rendered for a staff user through the guide's urls.py.
REPORT_PAGE = """
from django.contrib.auth import get_user_model
from django.test import Client
from filemaker_migration.models import ImportRun
staff = get_user_model().objects.create_user("reviewer", is_staff=True)
client = Client(HTTP_HOST="localhost")
client.force_login(staff)
page = client.get(f"/filemaker/runs/{ImportRun.objects.latest('pk').pk}/")
print("REPORT", page.status_code)
"""

# What the import left, read through the project's own models: the ledger's
# states, each batch's own image_count against its rows, and the rows the
# app's own validation (full_clean) refuses.
END_STATE = """
import json
from django.core.exceptions import ValidationError
from filemaker_migration.models import LedgerEntry
from records.models import Image, ImageBatch, Patient
refused = []
for model in (Patient, ImageBatch, Image):
    for row in model.objects.all():
        try:
            row.full_clean()
        except ValidationError as exc:
            refused.append(f"{model.__name__}: {sorted(exc.message_dict)}")
print(json.dumps({
    "states": dict(LedgerEntry.objects.values_list("record_id", "state")),
    "batches": ImageBatch.objects.count(),
    "images": Image.objects.count(),
    "wrong_counts": [
        [b.image_count, b.images.count()]
        for b in ImageBatch.objects.all() if b.image_count != b.images.count()
    ],
    "refused": refused,
}))
"""


def guide_blocks() -> list[tuple[str, bool, str]]:
    text = GUIDE.read_text()
    return [(name, bool(append), code) for name, append, code in BLOCK.findall(text)]


def run(project: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def emulator_lines(proc: subprocess.Popen) -> dict[str, str]:
    """The URL and CA bundle the emulator prints once it listens."""
    # Should it hang before printing both, the kill ends the read with EOF.
    watchdog = threading.Timer(TIMEOUT, proc.kill)
    watchdog.start()
    found: dict[str, str] = {}
    try:
        for line in proc.stdout:
            name, _, value = line.strip().partition(" ")
            if name in ("URL", "CA_BUNDLE"):
                found[name] = value
            if len(found) == 2:
                break
    finally:
        watchdog.cancel()
    return found


@pytest.fixture
def project_database(django_db_blocker):
    """The project's DATABASES setting: None on SQLite (startproject's own),
    else a fresh database on the suite's PostgreSQL server, dropped after."""
    if connection.vendor != "postgresql":
        yield None
        return
    name = f"own_project_{uuid.uuid4().hex[:12]}"
    own = settings.DATABASES["default"]
    keys = ("ENGINE", "USER", "PASSWORD", "HOST", "PORT")
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield {"default": {**{key: own[key] for key in keys}, "NAME": name}}
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE "{name}"')


def test_readme_steps_in_a_fresh_project(tmp_path, s3_server, project_database):
    project = tmp_path / "clinicsite"
    project.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONPATH" and not k.startswith(("DJANGO_", "FM_", "S3_"))
    }
    env["DJANGO_SETTINGS_MODULE"] = "clinicsite.settings"
    run(project, env, "-m", "django", "startproject", "clinicsite", ".")
    run(project, env, "-m", "django", "startapp", "records")
    missing = subprocess.run(
        [sys.executable, "-c", "import clinic"], cwd=project, env=env, check=False
    )
    assert missing.returncode != 0, "the project must not see the reference clinic"

    blocks = guide_blocks()
    assert {name for name, _, _ in blocks} == {"records/models.py", *PLACES}
    for name, append, code in blocks:
        path = project / PLACES.get(name, name)
        text = path.read_text() if append else ""
        path.write_text(f"{text}\n{code}" if append else code)
    if project_database is not None:
        settings_py = project / PLACES["settings.py"]
        text = settings_py.read_text()
        settings_py.write_text(f"{text}\nDATABASES = {project_database!r}\n")

    manage = functools.partial(run, project, env, "manage.py")  # env as updated
    manage("makemigrations", "records")
    manage("migrate")
    dataset = project / "rehearsal"
    manage("generate_filemaker_dataset", "--out", str(dataset), *SMALL)
    ObjectStore(
        StoreSettings(
            bucket=BUCKET,
            endpoint_url=s3_server,
            access_key_id=S3_KEYS["S3_ACCESS_KEY_ID"],
            secret_access_key=S3_KEYS["S3_SECRET_ACCESS_KEY"],
        )
    ).create_private_bucket()

    serve = ["filemaker_emulator", "--dataset", str(dataset), "--port", "0"]
    with (project / "emulator.log").open("w") as log:
        emulator = subprocess.Popen(
            [sys.executable, "manage.py", *serve],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        found = emulator_lines(emulator)
        log_text = (project / "emulator.log").read_text()
        assert set(found) == {"URL", "CA_BUNDLE"}, log_text
        manifest = json.loads((dataset / "dataset.json").read_text())
        account = manifest["accounts"][0]
        env.update(
            FM_URL=found["URL"],
            FM_CA_BUNDLE=found["CA_BUNDLE"],
            FM_DATABASE=manifest["database"],
            FM_ACCOUNT=account["name"],
            FM_PASSWORD=account["password"],
            S3_BUCKET=BUCKET,
            S3_ENDPOINT_URL=s3_server,
            **S3_KEYS,
        )
        manage("import_filemaker_patients")
        manage("import_filemaker_images", "--processes", "2", "--workers", "8")
        verified = manage("verify_filemaker_images")
        report = manage("shell", "-c", REPORT_PAGE)
        # The last line: Django 5.2's shell first says what it imported.
        end = json.loads(manage("shell", "-c", END_STATE).splitlines()[-1])
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
        emulator.stdout.close()

    assert any(line.startswith("CLEAN") for line in verified.splitlines()), verified
    assert "REPORT 200" in report, report
    oracle = json.loads((dataset / "expected.json").read_text())["records"]
    # Every outcome occurs in this small clinic, and each record has its own.
    outcomes = {rid: record["outcome"] for rid, record in oracle.items()}
    assert set(outcomes.values()) == {"imported", "imported_unlinked", "skipped"}
    assert end["states"] == outcomes
    imported = sum(1 for outcome in outcomes.values() if outcome == "imported")
    assert end["images"] == imported
    assert end["batches"] > 0
    assert end["wrong_counts"] == []  # the app's own recount, right
    assert end["refused"] == []  # every row passes the app's own validation
