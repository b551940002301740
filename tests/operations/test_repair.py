"""verify_filemaker_images --repair: each planted fault repaired, verify CLEAN after.

Runs against both targets (the reference clinic, and the real-shaped app in
the PostgreSQL pass); the batch counters' repair is the real-shaped app's
own test (tests/generic_clinic), since only its batches keep a count.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from filemaker_migration.keys import quarantine_key
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.targets import get_target
from tests.operations.helpers import fm_client
from tests.operations.helpers import verify

pytestmark = pytest.mark.django_db(transaction=True)


def disagreeing(*args: str) -> tuple[str, str]:
    """verify's output and its failing verdict."""
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_filemaker_images", *args, stdout=out)
    return out.getvalue(), str(failed.value)


def test_every_fault_planted_is_repaired_and_verify_is_clean(imported, tmp_path):
    store = imported
    entries = list(LedgerEntry.objects.filter(state=State.IMPORTED).order_by("pk")[:4])
    lost, overwritten, row_lost, unmarked = entries
    # S3 lost an object; another was overwritten with other bytes.
    store.delete(lost.s3_key)
    store.client.put_object(
        Bucket=store.bucket, Key=overwritten.s3_key, Body=b"not the clinic's photo"
    )
    # An object nothing accounts for.
    stray = f"{store.settings.key_prefix}/stray/0000.jpg"
    store.client.put_object(Bucket=store.bucket, Key=stray, Body=b"stray")
    # The clinic's database lost an image row.
    get_target().delete_image(row_lost.image_ref)
    # Someone cleared a record's export mark in FileMaker.
    fm, client = fm_client()
    with client:
        client.edit_record(fm.layout, unmarked.record_id, {"NexusExportDate": ""})
    out, verdict = disagreeing()
    assert "to repair: verify_filemaker_images --repair" in out

    # The dry run says what it would do, and changes nothing.
    out, planned = disagreeing("--repair")
    assert planned == verdict
    assert "nothing changed: add --yes to repair" in out
    assert f"repair would          missing_in_s3        record {lost.record_id}" in out
    assert store.head(lost.s3_key) is None
    assert store.head(stray) is not None

    report = tmp_path / "verify.json"
    out = verify("--repair", "--yes", "--json", str(report))

    assert out.splitlines()[-1].startswith("CLEAN")
    steps = json.loads((tmp_path / "verify-repairs.json").read_text())
    assert {s["outcome"] for s in steps} == {"repaired"}
    assert store.head(lost.s3_key).sha256 == lost.sha256  # fetched again
    assert store.head(overwritten.s3_key).sha256 == overwritten.sha256
    prefix = store.settings.key_prefix
    # Nothing deleted: the other bytes and the stray object are in quarantine.
    assert store.read(quarantine_key(overwritten.s3_key, prefix)) == (
        b"not the clinic's photo"
    )
    assert store.read(quarantine_key(stray, prefix)) == b"stray"
    assert store.head(stray) is None
    row_lost.refresh_from_db()
    assert get_target().image(row_lost.image_ref).s3_key == row_lost.s3_key
    with client:
        record = client.get_record(fm.layout, unmarked.record_id)
    assert record.get("NexusExportDate")


def test_a_record_changed_after_export_is_not_repaired_here(imported):
    entry = LedgerEntry.objects.filter(state=State.IMPORTED).order_by("pk").first()
    fm, client = fm_client()
    with client:
        client.edit_record(fm.layout, entry.record_id, {"Type": "Posterior"})

    out, verdict = disagreeing("--repair", "--yes")

    assert (
        f"repair not repairable changed_after_export record {entry.record_id}: "
        "none here: run import_filemaker_images --refresh-changed"
    ) in out
    assert "1 changed after export" in verdict  # still there, and said


def test_yes_without_repair_is_refused(imported):
    with pytest.raises(CommandError, match="--yes goes with --repair"):
        verify("--yes")
