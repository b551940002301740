"""The S3 preflight refuses a bucket that is not fit for patient images."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from filemaker_migration.conf import object_store
from filemaker_migration.models import ImportRun
from tests.conftest import point_settings_at
from tests.pipeline.checks import original_keys

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bare_bucket(settings, emulator, s3_server, tmp_path):
    """A bucket with neither default encryption nor Block Public Access."""
    point_settings_at(settings, emulator, s3_server, "clinic-bare-bucket")
    settings.STATE_DIR = tmp_path / "state"
    store = object_store()
    store.client.create_bucket(
        Bucket=store.bucket,
        CreateBucketConfiguration={"LocationConstraint": "ap-southeast-2"},
    )
    yield store
    for obj in store.list_keys(""):
        store.delete(obj.key)
    store.client.delete_bucket(Bucket=store.bucket)


def test_preflight_passes_on_a_private_encrypted_bucket(migration_env):
    assert migration_env.preflight() == []


def test_preflight_names_every_problem(bare_bucket):
    problems = bare_bucket.preflight()
    assert any("default encryption" in p for p in problems)
    assert any("Block Public Access" in p for p in problems)


def test_import_refuses_a_bucket_that_fails_preflight(bare_bucket):
    with pytest.raises(CommandError, match=r"S3 preflight failed.*Block Public Access"):
        call_command("import_filemaker_images", "--limit", "1", stdout=StringIO())
    assert not ImportRun.objects.exists()
    assert bare_bucket.list_keys("") == []


def test_preflight_can_be_skipped_explicitly(bare_bucket):
    call_command(
        "import_filemaker_images",
        "--limit",
        "2",
        "--skip-s3-preflight",
        stdout=StringIO(),
    )
    assert len(original_keys(bare_bucket)) == 2


def test_missing_bucket_is_named(settings, emulator, s3_server):
    point_settings_at(settings, emulator, s3_server, "clinic-no-such-bucket")
    with pytest.raises(CommandError, match="clinic-no-such-bucket is not reachable"):
        call_command("import_filemaker_images", stdout=StringIO())


def run_against_missing_bucket(settings, emulator, s3_server, *args):
    point_settings_at(settings, emulator, s3_server, "clinic-no-such-bucket")
    call_command("import_filemaker_patients", stdout=StringIO())
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_filemaker_images", "--skip-s3-preflight", *args, stdout=out
        )
    run = ImportRun.objects.get()
    return str(raised.value), out.getvalue(), run.totals


def test_a_trial_against_a_missing_bucket_tries_at_most_its_limit(
    settings, emulator, s3_server
):
    error, output, totals = run_against_missing_bucket(
        settings, emulator, s3_server, "--limit", "5", "--workers", "4"
    )
    assert totals["failed"] <= 5
    assert totals["imported"] + totals["imported_unlinked"] == 0
    assert "NoSuchBucket" in output  # on the console, not only in the report
    assert "NoSuchBucket" in error


def test_a_run_against_a_missing_bucket_stops_early_naming_the_cause(
    settings, emulator, s3_server
):
    error, output, totals = run_against_missing_bucket(
        settings, emulator, s3_server, "--workers", "2"
    )
    assert error.startswith("stopped early")
    assert "s3_put_failed (NoSuchBucket" in error
    assert "STOPPED EARLY" in output
    # The records already in flight are finished; paging stops: far fewer
    # than the clinic's records are tried.
    assert 5 <= totals["failed"] < 40 < totals["seen"] + 80
