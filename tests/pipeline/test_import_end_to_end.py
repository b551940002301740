"""The whole import against the emulator (HTTPS) and moto's S3 server (sockets)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import VisitBatch
from tests.clinic_rows import batch_rows
from tests.clinic_rows import image_rows
from tests.conftest import STRICT
from tests.conftest import assert_strict_server_met
from tests.conftest import use_profile
from tests.pipeline.checks import assert_clean_end_state
from tests.pipeline.checks import expected_records
from tests.pipeline.checks import filemaker_records
from tests.pipeline.checks import original_keys

pytestmark = pytest.mark.django_db(transaction=True)


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import_filemaker_images", *args, stdout=out)
    return out.getvalue()


def import_patients() -> None:
    call_command("import_filemaker_patients", stdout=StringIO())


def report_of(output: str) -> dict:
    path = next(
        line.split()[-1]
        for line in output.splitlines()
        if line.strip().startswith("report")
    )
    return json.loads(Path(path).read_text())


@pytest.mark.parametrize(
    ("workers", "profile"),
    [
        pytest.param("1", None, id="1"),
        pytest.param("16", None, id="16"),
        # Everything a real server does at once (issue #14).
        pytest.param("16", STRICT, id="16-strict-server"),
    ],
)
def test_import_everything_matches_the_oracle(
    migration_env, emulator, workers, profile
):
    import_patients()
    use_profile(emulator, profile)
    output = run_import("--workers", workers, "--page-size", "7")

    assert_clean_end_state(emulator.dataset, migration_env)
    if profile == STRICT:
        assert_strict_server_met(emulator)
    report = report_of(output)
    expected = expected_records(emulator.dataset)
    totals = report["totals"]
    assert totals["seen"] == len(expected)
    assert totals["failed"] == 0
    assert (
        totals["imported"] + totals["imported_unlinked"] + totals["skipped"]
        == totals["seen"]
    )
    assert totals["imported_unlinked"] == sum(
        1 for r in expected.values() if r["outcome"] == "imported_unlinked"
    )
    assert report["batches_created"] == len(batch_rows())
    assert sum(report["container_usage"].values()) == (
        totals["imported"] + totals["imported_unlinked"]
    )
    assert "container sizes used: image_Full" in output
    assert "Next: `verify_filemaker_images" in output


def test_batches_are_named_and_dated_as_the_plan_says(migration_env, emulator):
    import_patients()
    run_import("--workers", "8")
    visits = {slot.batch_ref: slot.visit for slot in VisitBatch.objects.all()}
    for batch in batch_rows():
        if not visits[batch.ref]:
            assert batch.name == "Unknown date (FileMaker Import)"
        else:
            d = dt.date.fromisoformat(visits[batch.ref])
            assert batch.name == f"{d.day} {d:%b %Y} (FileMaker Import)"
    types = {
        data["id"].upper(): data["Type"]
        for data in filemaker_records(FileMakerSettings.from_settings()).values()
    }
    entries = {e.image_ref: e for e in LedgerEntry.objects.exclude(image_ref="")}
    for image in image_rows():
        assert image.image_type == types[entries[image.ref].filemaker_id]
    assert "" in visits.values()  # the undated images have their batch


def test_second_run_imports_nothing_and_changes_nothing(migration_env, emulator):
    import_patients()
    run_import("--workers", "8")
    fm = FileMakerSettings.from_settings()
    before_fm = filemaker_records(fm)
    before_ledger = list(LedgerEntry.objects.values().order_by("pk"))
    before_objects = migration_env.list_keys("patients/")

    output = run_import("--workers", "8")

    report = report_of(output)
    assert report["totals"]["imported"] == 0
    assert report["totals"]["imported_unlinked"] == 0
    assert report["totals"]["failed"] == 0
    assert report["totals"]["skipped"] == sum(
        1
        for r in expected_records(emulator.dataset).values()
        if r["outcome"] == "skipped"
    )
    assert filemaker_records(fm) == before_fm
    assert list(LedgerEntry.objects.values().order_by("pk")) == before_ledger
    assert migration_env.list_keys("patients/") == before_objects


def test_limit_caps_the_records_taken_up(migration_env, emulator):
    import_patients()
    output = run_import("--limit", "10", "--workers", "16")

    report = report_of(output)
    settled_unseen = {"invalid_filemaker_id", "duplicate_filemaker_id", "no_recid"}
    taken_up = [r for r in report["records"] if r["reason"] not in settled_unseen]
    assert len(taken_up) == 10
    exported = [r for r in taken_up if r["outcome"].startswith("imported")]
    marked = [
        rid
        for rid, data in filemaker_records(FileMakerSettings.from_settings()).items()
        if data["NexusExportDate"]
    ]
    assert sorted(marked) == sorted(r["record_id"] for r in exported)
    assert len(original_keys(migration_env)) == len(exported) > 0
    assert "Next: review the trial" in output


def test_dry_run_writes_nothing_and_predicts_the_real_run(migration_env, emulator):
    import_patients()
    fm = FileMakerSettings.from_settings()
    before_fm = filemaker_records(fm)

    dry = report_of(run_import("--dry-run", "--workers", "16", "--page-size", "9"))

    assert filemaker_records(fm) == before_fm
    assert migration_env.list_keys("patients/") == []
    assert not LedgerEntry.objects.exists()
    assert not ImportRun.objects.exists()
    assert not batch_rows()

    real = report_of(run_import("--workers", "16"))
    fields = ("outcome", "reason", "container_field", "s3_key", "sha256", "size")
    predicted = {r["record_id"]: {f: r[f] for f in fields} for r in dry["records"]}
    happened = {r["record_id"]: {f: r[f] for f in fields} for r in real["records"]}
    assert predicted == happened
    assert dry["totals"] == real["totals"]
    assert dry["batches_created"] == real["batches_created"]


def test_a_failed_record_makes_the_command_fail_and_a_rerun_finishes(
    migration_env, emulator
):
    import_patients()
    # Every third write-back is refused by FileMaker (error 951).
    emulator.faults.fail_every_nth_patch = 3
    with pytest.raises(CommandError, match="failed"):
        run_import("--workers", "4")
    assert LedgerEntry.objects.filter(reason="filemaker_writeback_failed").exists()

    emulator.faults.fail_every_nth_patch = 0
    run_import("--workers", "4")
    assert_clean_end_state(emulator.dataset, migration_env)
