"""verify_filemaker_images finds each planted disagreement, and says so."""

from __future__ import annotations

import csv
import json

import pytest
from django.core.management.base import CommandError

from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.targets import get_target
from tests.clinic_rows import clinic_model
from tests.operations.helpers import fm_client
from tests.operations.helpers import verify

pytestmark = pytest.mark.django_db(transaction=True)


def an_imported_entry() -> LedgerEntry:
    return LedgerEntry.objects.filter(state=State.IMPORTED).order_by("pk").first()


def findings_of(tmp_path, *args: str) -> tuple[str, dict, list[dict]]:
    report, table = tmp_path / "verify.json", tmp_path / "verify.csv"
    with pytest.raises(CommandError, match="DISAGREE") as failed:
        verify("--json", str(report), "--csv", str(table), *args)
    with table.open() as fh:
        rows = list(csv.DictReader(fh))
    return str(failed.value), json.loads(report.read_text()), rows


def problems(rows: list[dict]) -> set[tuple[str, str]]:
    return {(r["category"], r["record_id"]) for r in rows if r["category"] != "matched"}


def test_verify_object_deleted_is_missing_in_s3(imported, tmp_path):
    entry = an_imported_entry()
    imported.delete(entry.s3_key)

    verdict, report, rows = findings_of(tmp_path)

    assert problems(rows) == {("missing_in_s3", entry.record_id)}
    assert report["counts"]["missing_in_s3"] == 1
    assert "1 missing in s3" in verdict


def test_verify_object_with_other_bytes_is_differing(imported, tmp_path):
    entry = an_imported_entry()
    imported.client.put_object(
        Bucket=imported.bucket, Key=entry.s3_key, Body=b"not the clinic's photo"
    )

    _, _, rows = findings_of(tmp_path)

    assert problems(rows) == {("differing", entry.record_id)}


def test_verify_deep_rehashes_the_bytes_filemaker_holds(imported, tmp_path):
    entry = an_imported_entry()
    # The database claims other bytes than FileMaker's container holds; only
    # a deep check downloads the container again and hashes it.
    LedgerEntry.objects.filter(pk=entry.pk).update(sha256="0" * 64)
    get_target().update_image(entry.image_ref, {"sha256": "0" * 64})
    _, _, shallow = findings_of(tmp_path)

    _, report, deep = findings_of(tmp_path, "--deep")

    def rehashed(rows):
        return [
            r for r in rows if r["side"] == "filemaker" and "hashes to" in r["detail"]
        ]

    assert rehashed(shallow) == []
    assert [r["record_id"] for r in rehashed(deep)] == [entry.record_id]
    assert report["deep"] is True


def test_verify_orphan_object_is_reported(imported, tmp_path):
    key = f"{imported.settings.key_prefix}/stray/0000.jpg"
    imported.client.put_object(Bucket=imported.bucket, Key=key, Body=b"stray")

    _, report, rows = findings_of(tmp_path)

    orphans = [r for r in rows if r["category"] == "orphaned"]
    assert [r["s3_key"] for r in orphans] == [key]
    assert report["counts"]["orphaned"] == 1


def test_verify_image_row_deleted_is_missing_in_database(imported, tmp_path):
    entry = an_imported_entry()
    get_target().delete_image(entry.image_ref)

    _, _, rows = findings_of(tmp_path)

    assert problems(rows) == {("missing_in_database", entry.record_id)}


def test_verify_export_date_cleared_is_missing_in_filemaker(imported, tmp_path):
    entry = an_imported_entry()
    fm, client = fm_client()
    with client:
        client.edit_record(fm.layout, entry.record_id, {"NexusExportDate": ""})

    _, _, rows = findings_of(tmp_path)

    # Clearing the field is itself an edit: FileMaker's modId moves too.
    assert ("missing_in_filemaker", entry.record_id) in problems(rows)
    assert {c for c, rid in problems(rows)} <= {
        "missing_in_filemaker",
        "changed_after_export",
    }


def test_verify_record_changed_after_export(imported, tmp_path):
    entry = an_imported_entry()
    fm, client = fm_client()
    with client:
        client.edit_record(fm.layout, entry.record_id, {"Type": "Posterior"})

    verdict, _, rows = findings_of(tmp_path)

    assert problems(rows) == {("changed_after_export", entry.record_id)}
    assert "changed after export" in verdict


def test_verify_report_never_names_a_patient(imported, tmp_path):
    entry = an_imported_entry()
    imported.delete(entry.s3_key)
    _, _, rows = findings_of(tmp_path)
    text = (tmp_path / "verify.json").read_text()
    text += (tmp_path / "verify.csv").read_text()
    patient = clinic_model("patient").objects.get(pk=entry.patient_ref)
    for name in (patient.first_name, patient.last_name):
        assert name not in text
    assert rows
