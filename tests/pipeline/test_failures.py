"""Each step of a record failing, and a rerun reaching the clean end state."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.conf import object_store
from filemaker_migration.models import LedgerEntry
from filemaker_migration.s3store import StoreError
from tests.clinic_rows import clinic_model
from tests.conftest import point_settings_at
from tests.conftest import start_emulator
from tests.pipeline.checks import assert_clean_end_state
from tests.pipeline.checks import expected_records
from tests.pipeline.checks import run_import_with_store

pytestmark = pytest.mark.django_db(transaction=True)


def run_import(*args: str) -> None:
    call_command("import_filemaker_images", *args, stdout=StringIO())


class FlakyStore:
    """moto cannot be told to fail one put, so this wrapper refuses the first
    `failures` puts itself (the only stand-in in these tests)."""

    def __init__(self, store, failures: int) -> None:
        self._store = store
        self.settings = store.settings
        self.failures = failures

    def put_create_only(self, *args, **kwargs):
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("s3 put failed: InternalError (injected)")
        return self._store.put_create_only(*args, **kwargs)


def test_s3_put_failing_then_rerun(migration_env, emulator, settings):
    call_command("import_filemaker_patients", stdout=StringIO())
    result = run_import_with_store(FlakyStore(migration_env, failures=5), settings)

    assert result.failed == 5
    assert LedgerEntry.objects.filter(reason="s3_put_failed").count() == 5
    run_import("--workers", "4")
    assert_clean_end_state(emulator.dataset, migration_env)


def _refuse_image_insert(filemaker_id: str) -> None:
    """A real trigger, so the database itself refuses one image row (found by
    its key, which holds the FileMaker id, whatever the clinic's columns)."""
    table = clinic_model("image")._meta.db_table
    key_like = f"%{filemaker_id.upper()}%"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                """
                CREATE FUNCTION refuse_image() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION 'refused by test trigger'; END;
                $$ LANGUAGE plpgsql;
                """
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_image BEFORE INSERT ON {table} "
                f"FOR EACH ROW WHEN (NEW.s3_key LIKE '{key_like}') "
                "EXECUTE FUNCTION refuse_image()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_image BEFORE INSERT ON {table} "
                f"WHEN NEW.s3_key LIKE '{key_like}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            )


def _refuse_image_inserts_once_it_holds(rows: int) -> None:
    """A real trigger: the image table takes `rows` rows, then refuses every
    insert, as a database that has run out of room does mid-run."""
    table = clinic_model("image")._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                CREATE FUNCTION refuse_image() RETURNS trigger AS $$
                BEGIN
                    IF (SELECT count(*) FROM {table}) >= {rows} THEN
                        RAISE EXCEPTION 'refused by test trigger';
                    END IF;
                    RETURN NEW;
                END;
                $$ LANGUAGE plpgsql;
                """
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_image BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_image()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_image BEFORE INSERT ON {table} "
                f"WHEN (SELECT count(*) FROM {table}) >= {rows} "
                "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            )


def _drop_refusal() -> None:
    """Drop the planted trigger; nothing to drop is no error (a test that
    failed before planting, or dropped it itself)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            table = clinic_model("image")._meta.db_table
            cursor.execute(f"DROP TRIGGER IF EXISTS refuse_image ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS refuse_image()")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS refuse_image")


@pytest.fixture
def refusals():
    """A planted trigger never outlives its test: on PostgreSQL a flush keeps
    triggers, so one left behind would refuse every later test's writes."""
    yield
    _drop_refusal()


def test_database_refusing_a_write_then_rerun(migration_env, emulator, refusals):
    call_command("import_filemaker_patients", stdout=StringIO())
    expected = expected_records(emulator.dataset)
    victim = next(r for r in expected.values() if r["outcome"] == "imported")
    _refuse_image_insert(victim["id"])

    with pytest.raises(CommandError, match="1 record"):
        run_import("--workers", "4")
    entry = LedgerEntry.objects.get(filemaker_id=victim["id"].upper())
    assert entry.reason == "database_write_failed"
    assert entry.uploaded_at is not None  # the object is in S3 already

    _drop_refusal()
    run_import("--workers", "4")
    assert_clean_end_state(emulator.dataset, migration_env)


def test_the_database_refusing_writes_mid_run_stops_the_run(
    migration_env, emulator, refusals
):
    """The tripwire holds all run long: records in a row failing the same way
    at the destination stop the run at any point, not only at its start."""
    call_command("import_filemaker_patients", stdout=StringIO())
    _refuse_image_inserts_once_it_holds(20)
    out = StringIO()
    with pytest.raises(CommandError) as stopped:
        call_command("import_filemaker_images", "--workers", "4", stdout=out)

    assert str(stopped.value).startswith(
        "stopped early: 5 records in a row failed at the destination with "
        "database_write_failed ("
    )
    assert "refused by test trigger" in str(stopped.value)
    assert "STOPPED EARLY" in out.getvalue()
    images = clinic_model("image").objects.count()
    # About 20: on PostgreSQL, writers that counted before another's row was
    # committed each add one more. Every row has its ledger entry, and no
    # entry names a row that is not there: nothing half written.
    assert images >= 20
    assert images == LedgerEntry.objects.exclude(image_ref="").count()
    failed = LedgerEntry.objects.filter(reason="database_write_failed").count()
    imported = sum(
        r["outcome"] == "imported" for r in expected_records(emulator.dataset).values()
    )
    # Paging stopped: far fewer records failed than were left to import.
    assert 5 <= failed < imported - images - 20

    _drop_refusal()
    run_import("--workers", "4")
    assert_clean_end_state(emulator.dataset, migration_env)


def test_a_value_the_image_model_refuses_is_parked_then_imported(
    migration_env, emulator
):
    call_command("import_filemaker_patients", stdout=StringIO())
    expected = expected_records(emulator.dataset)
    victim = next(r for r in expected.values() if r["outcome"] == "imported")
    fm = FileMakerSettings.from_settings()
    name_field = fm.image_fields.filename
    with fm.client(max_concurrency=1) as client:
        record_id = client.find(fm.layout, [{"id": f"=={victim['id']}"}]).records[0]
        original = record_id.get(name_field)
        # 300 characters, for an image model whose file name column holds 255.
        long_name = "Left foot, " + "x" * 285 + ".jpg"
        client.edit_record(fm.layout, record_id.record_id, {name_field: long_name})

    run_import("--workers", "4")

    entry = LedgerEntry.objects.get(filemaker_id=victim["id"].upper())
    assert (entry.state, entry.reason) == ("skipped", "row_refused")
    assert re.fullmatch(
        r"FileMaker's 'Name of file' into \w+\.Image\.original_(file)?name "
        r"refuses it: Ensure this value has at most 255 characters \(it has 300\)\.",
        entry.detail,
    )
    assert entry.s3_key == ""  # parked before anything was downloaded
    assert entry.original_filename == long_name  # kept whole in the ledger

    with fm.client(max_concurrency=1) as client:
        client.edit_record(fm.layout, record_id.record_id, {name_field: original})
    run_import("--workers", "4")  # looked at again, and imported
    assert_clean_end_state(emulator.dataset, migration_env)


def test_source_answering_502_at_random_then_reruns(migration_env, emulator, settings):
    """Downloads, pages and write-backs all fail at random, with no retries."""
    call_command("import_filemaker_patients", stdout=StringIO())
    settings.FILEMAKER = {**settings.FILEMAKER, "MAX_ATTEMPTS": 1}
    emulator.faults.seed = 5
    emulator.faults.http_502_probability = 0.15
    for _ in range(3):
        # Each run ends with failed records, or stops when a page fails.
        with contextlib.suppress(CommandError):
            run_import("--workers", "4", "--page-size", "10")
    assert LedgerEntry.objects.exclude(last_error="").exists() or (
        LedgerEntry.objects.count() < len(expected_records(emulator.dataset))
    )

    emulator.faults.http_502_probability = 0.0
    settings.FILEMAKER = {**settings.FILEMAKER, "MAX_ATTEMPTS": 4}
    run_import("--workers", "4")
    assert_clean_end_state(emulator.dataset, migration_env)


def test_transient_502s_are_retried_within_the_run(migration_env, emulator, settings):
    call_command("import_filemaker_patients", stdout=StringIO())
    # One request in 20 fails; with 6 tries a request fails for good with
    # probability 0.05**6, so the run must see no failure at all.
    settings.FILEMAKER = {**settings.FILEMAKER, "MAX_ATTEMPTS": 6}
    emulator.faults.seed = 9
    emulator.faults.http_502_probability = 0.05
    run_import("--workers", "8")
    assert_clean_end_state(emulator.dataset, migration_env)


def _dataset_with_md5_mismatch(source: Path, target: Path) -> str:
    """A copy of the clinic in which one record's MD5 field disagrees."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("state", "tls"))
    lines = (target / "records" / "API_Images.jsonl").read_text().splitlines()
    expected = expected_records(source)
    record_id = next(
        rid
        for rid, r in expected.items()
        if r["outcome"] == "imported" and r["field"] == "image_Full"
    )
    index = int(record_id) - 1
    data = json.loads(lines[index])
    data["image_Full_MD5"] = "0" * 32
    lines[index] = json.dumps(data)
    (target / "records" / "API_Images.jsonl").write_text("\n".join(lines) + "\n")
    return record_id


def test_md5_mismatch_is_not_imported(
    settings, s3_server, tmp_path, clinic_dataset, emulator_tls_dir
):
    record_id = _dataset_with_md5_mismatch(clinic_dataset, tmp_path / "clinic")
    running = start_emulator(
        tmp_path / "clinic", tmp_path / "fm-state", emulator_tls_dir
    )
    try:
        point_settings_at(settings, running, s3_server, "clinic-md5-mismatch")
        settings.STATE_DIR = tmp_path / "state"
        store = object_store()
        store.create_private_bucket()
        with pytest.raises(CommandError, match="1 record"):
            run_import("--workers", "4")
        entry = LedgerEntry.objects.get(record_id=record_id)
        assert entry.state == "failed"
        assert entry.reason == "md5_mismatch"
        assert entry.uploaded_at is None
        assert entry.s3_key == ""
    finally:
        running.server.stop()
        running.app.close()
