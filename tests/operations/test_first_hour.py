"""A clinic IT person's first mistakes: each is one line naming what is wrong,
and a non-zero exit, before the command touches anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FM_", "S3_", "DATABASE_URL"))
    }
    # A state directory of its own: a fresh SQLite database, never migrated.
    base["MIGRATION_STATE_DIR"] = str(tmp_path / "state")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("FM_FIELDS", "{id:"), ("FM_READ_TIMEOUT", "abc"), ("S3_PRESIGN_SECONDS", "5m")],
)
def test_a_malformed_setting_is_one_line_naming_it(tmp_path, variable, value):
    done = manage(tmp_path, "inspect_filemaker_images", **{variable: value})
    assert done.returncode == 2
    line = one_line(done)
    assert line.startswith(f"configuration error: {variable}={value!r} is malformed")
    assert "('')" not in line  # the parser's leftovers, not the value given


def test_a_number_setting_says_a_number_is_expected(tmp_path):
    done = manage(tmp_path, "inspect_filemaker_images", FM_READ_TIMEOUT="abc")
    assert one_line(done) == (
        "configuration error: FM_READ_TIMEOUT='abc' is malformed (expected a "
        "number); see docs/configuration.md"
    )


def test_an_unmigrated_database_says_migrate(tmp_path):
    done = manage(tmp_path, "import_filemaker_images")
    assert done.returncode == 1
    line = one_line(done)
    assert "the database is not migrated" in line
    assert "python manage.py migrate" in line


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    url = "postgres://clinic:s3cr3t-pw@127.0.0.1:1/clinic"
    done = manage(tmp_path, "relink_filemaker_images", DATABASE_URL=url)
    assert done.returncode == 1
    line = one_line(done)
    assert "cannot reach the postgresql database clinic on 127.0.0.1:1" in line
    assert "s3cr3t-pw" not in done.stderr + done.stdout


def test_a_malformed_database_url_hides_its_value(tmp_path):
    done = manage(
        tmp_path, "inspect_filemaker_images", DATABASE_URL="nosuchdb://u:s3cr3t@x/y"
    )
    assert done.returncode == 2
    line = one_line(done)
    assert line == (
        "configuration error: DATABASE_URL is malformed (expected "
        "postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH); see "
        "docs/configuration.md"
    )
    assert "s3cr3t" not in done.stderr
