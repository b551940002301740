"""README.md's "Using it in your own Django project", its steps run literally.

A project made with `django-admin startproject` gets the README's marked code
blocks (`<!-- own-project: FILE -->` on the line before a fence) written into
the files they name, the FileMaker and S3 values through the environment
variables those blocks read, and then runs the commands as a clinic would:
makemigrations, migrate, a small synthetic clinic served by the emulator, a
local S3 server, the patient and image imports, verify, and the run report
page. Everything runs in subprocesses that see only the installed app, never
this repository's checkout (`import clinic` must fail there).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreSettings

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Using it in your own Django project"
BLOCK = re.compile(r"<!-- own-project: (\S+)( \(append\))? -->\n```\w*\n(.*?)```", re.S)
# Where the README's file names live in a startproject layout.
PLACES = {"settings.py": "clinicsite/settings.py", "urls.py": "clinicsite/urls.py"}
SMALL = ("--images", "60", "--seed", "3")  # the default is the real clinic's size
TIMEOUT = 300  # seconds, for any one command
BUCKET = "own-project-images"
S3_KEYS = {
    "AWS_ACCESS_KEY_ID": "test-access-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
}

# The run report page, rendered for a staff user through the README's urls.py.
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


def readme_blocks() -> list[tuple[str, bool, str]]:
    section = README.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [(name, bool(append), code) for name, append, code in BLOCK.findall(section)]


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


def test_readme_steps_in_a_fresh_project(tmp_path, s3_server):
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

    blocks = readme_blocks()
    assert {name for name, _, _ in blocks} == {"records/models.py", *PLACES}
    for name, append, code in blocks:
        path = project / PLACES.get(name, name)
        text = path.read_text() if append else ""
        path.write_text(f"{text}\n{code}" if append else code)

    manage = functools.partial(run, project, env, "manage.py")  # env as updated
    manage("makemigrations", "records")
    manage("migrate")
    dataset = project / "rehearsal"
    manage("generate_filemaker_dataset", "--out", str(dataset), *SMALL)
    ObjectStore(
        StoreSettings(
            bucket=BUCKET,
            endpoint_url=s3_server,
            access_key_id=S3_KEYS["AWS_ACCESS_KEY_ID"],
            secret_access_key=S3_KEYS["AWS_SECRET_ACCESS_KEY"],
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
        manage("import_filemaker_images")
        verified = manage("verify_filemaker_images")
        report = manage("shell", "-c", REPORT_PAGE)
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
    with contextlib.closing(sqlite3.connect(project / "db.sqlite3")) as db:
        states = dict(db.execute("SELECT record_id, state FROM filemaker_ledgerentry"))
    assert states == outcomes
