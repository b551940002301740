"""One image S3 (or FileMaker) will not serve fails that image, not the command.

Relink and rollback go on with every other entry, name the one that failed,
exit non-zero, and a rerun after the fix reaches the clean state.
"""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from filemaker_migration import keys
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import TerminalStoreError
from filemaker_migration.s3store import sha256_b64
from filemaker_migration.targets import get_target
from tests.clinic_rows import batch_rows
from tests.clinic_rows import image_rows
from tests.operations.helpers import add_missing_patients
from tests.operations.helpers import command
from tests.operations.helpers import verify

pytestmark = pytest.mark.django_db(transaction=True)


def unlinked_entries() -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(state=State.IMPORTED_UNLINKED).order_by("pk")
    )


def relinked_key(store: ObjectStore, entry: LedgerEntry) -> str:
    """Where relink will put the entry's object: its patient's folder."""
    patient = get_target().patients_by_contact([entry.contact_id])
    return keys.relinked_key(
        entry.s3_key,
        store.settings.key_prefix,
        patient[entry.contact_id.upper()],
        entry.image_date,
        entry.filemaker_id,
    )


def relink_failure(*args: str) -> str:
    with pytest.raises(CommandError, match="not relinked") as failed:
        command("relink_filemaker_images", *args)
    return str(failed.value)


def test_relink_fails_only_the_image_it_cannot_read(imported, emulator):
    add_missing_patients(emulator.dataset)
    unlinked = unlinked_entries()
    assert len(unlinked) >= 3
    # The first in relink's order, so that nothing after it is spared.
    victim = unlinked[0]
    target = relinked_key(imported, victim)
    # Its bytes are already at the patient's key, archived to Glacier (as a
    # lifecycle rule would): the copy finds them and keeps them, the read
    # that makes the gallery's JPEGs meets InvalidObjectState.
    body = imported.read(victim.s3_key)
    imported.client.put_object(
        Bucket=imported.bucket,
        Key=target,
        Body=body,
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=sha256_b64(victim.sha256),
        ServerSideEncryption="AES256",
        StorageClass="GLACIER",
    )

    message = relink_failure()

    assert message.startswith("1 image(s) not relinked")
    assert victim.filemaker_id in message
    assert f"s3 get {target} failed: InvalidObjectState" in message
    assert [e.pk for e in unlinked_entries()] == [victim.pk]
    relinked = LedgerEntry.objects.filter(pk__in=[e.pk for e in unlinked[1:]])
    assert {e.state for e in relinked} == {State.IMPORTED}
    # The failed image lost nothing: its unlinked object is where it was.
    assert imported.head(victim.s3_key).sha256 == victim.sha256

    # The fix: restore the archived object. The rerun relinks the last one.
    imported.client.restore_object(
        Bucket=imported.bucket, Key=target, RestoreRequest={"Days": 1}
    )
    out = command("relink_filemaker_images")
    assert out.startswith("relinked 1,")
    assert not unlinked_entries()
    assert LedgerEntry.objects.get(pk=victim.pk).s3_key == target
    assert imported.list_keys(f"{imported.settings.key_prefix}/unlinked/") == []
    assert "CLEAN" in verify()


def test_relink_fails_only_the_record_filemaker_will_not_take(imported, emulator):
    add_missing_patients(emulator.dataset)
    unlinked = unlinked_entries()
    victim = unlinked[0]
    # Deleted in FileMaker meanwhile: the receipt write-back answers 101
    # (RecordMissingError), a DataAPIError of that record alone.
    emulator.app.backend.delete(
        FileMakerSettings.from_settings().layout, victim.record_id
    )

    message = relink_failure()

    assert message.startswith("1 image(s) not relinked")
    assert f"{victim.filemaker_id}: FileMaker receipt write-back" in message
    assert [e.pk for e in unlinked_entries()] == [victim.pk]
    relinked = LedgerEntry.objects.filter(pk__in=[e.pk for e in unlinked[1:]])
    assert {e.state for e in relinked} == {State.IMPORTED}
    # Still unlinked with its object, for whoever decides about the record.
    assert imported.head(victim.s3_key).sha256 == victim.sha256


def test_rollback_keeps_only_the_image_s3_will_not_delete(imported, monkeypatch):
    entries = list(LedgerEntry.objects.filter(state=State.IMPORTED).order_by("pk"))
    # The first in the rollback's order, so that nothing after it is spared.
    victim = entries[0]
    refused = victim.s3_key
    real_delete = ObjectStore.delete

    def delete(self: ObjectStore, key: str) -> None:
        # A mock: moto's server cannot refuse a delete (it enforces no bucket
        # policy). This stands for S3 answering AccessDenied for this one
        # key, translated as ObjectStore.delete does.
        if key == refused:
            raise TerminalStoreError(
                f"s3 delete {key} failed: AccessDenied (Access Denied)",
                operation="delete",
                key=key,
                code="AccessDenied",
            )
        real_delete(self, key)

    monkeypatch.setattr(ObjectStore, "delete", delete)
    with pytest.raises(CommandError, match="run the rollback again") as failed:
        command("rollback_filemaker_images", "--all", "--yes")

    message = str(failed.value)
    assert message.startswith("1 image(s) not rolled back")
    assert f"{victim.filemaker_id}: s3 delete {refused} failed: AccessDenied" in message
    # Every other entry is rolled back and forgotten; the victim's entry stays,
    # rolled back, with the key of the object still to delete.
    kept = LedgerEntry.objects.get()
    assert (kept.pk, kept.reason, kept.s3_key) == (victim.pk, "rolled_back", refused)
    left = {o.key for o in imported.list_keys("patients/")}
    assert refused in left
    assert left <= {refused, *keys.derivative_keys(refused)}
    assert not image_rows()

    monkeypatch.undo()
    command("rollback_filemaker_images", "--all", "--yes")
    assert "CLEAN" in verify()
    assert imported.list_keys("patients/") == []
    assert not LedgerEntry.objects.exists()
    assert not batch_rows()
