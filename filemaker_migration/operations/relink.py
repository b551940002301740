"""Unlinked images whose patient now exists become the patient's images.

For each ledger entry in state imported_unlinked whose contact is now a
Patient, in this order:

    1. S3          copy the object to the patient's key (server-side, same
                   encryption, SHA-256 recomputed by S3 and checked against the
                   ledger's); a target already holding those bytes is reused
    2. FileMaker   point the receipt NexusS3Key at the new key (when the layout
                   has it)
       S3          the gallery's thumbnail (and display JPEG) beside it
    3. S3          delete the unlinked object
    4. database    in one transaction: the batch (batch_for), the image row
                   (through the target), and the ledger entry moved to
                   imported with the new key

The ledger entry stays "imported_unlinked", with the old key, until the last
step, so a crash anywhere leaves an entry the next relink takes up again and
every step before it is idempotent: the copy finds its target already there
(and the old object possibly gone, which is why the copy checks the target
before the source), the receipt is written again, the delete of a missing
object is a no-op. The new object is verified before the old one is deleted,
so no step can lose the image.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from django.db import transaction

from filemaker_migration import keys
from filemaker_migration import ledger
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.derivative_store import store_derivatives
from filemaker_migration.fields import ImageFields
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.pipeline import batch_for
from filemaker_migration.pipeline import facts_from_filemaker
from filemaker_migration.pipeline import image_facts
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError
from filemaker_migration.targets import Target
from filemaker_migration.targets import get_target

logger = logging.getLogger(__name__)


class RelinkRaceError(Exception):
    """Another relink linked the entry first; this one's rows are taken back."""


class ReceiptWriteError(Exception):
    """FileMaker refused the receipt write-back of one entry (the rest go on)."""


@dataclass
class RelinkResult:
    relinked: list[str] = field(default_factory=list)  # FileMaker ids
    still_unlinked: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # FileMaker id -> error
    batches_created: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "relinked": len(self.relinked),
            "still_unlinked": self.still_unlinked,
            "failed": self.failed,
            "batches_created": self.batches_created,
        }


@dataclass
class Relinker:
    client: DataAPIClient
    layout: str
    fields: ImageFields
    store: ObjectStore
    target: Target = dataclasses.field(default_factory=get_target)

    def run(self) -> RelinkResult:
        result = RelinkResult()
        receipt = self.fields.receipt_key in self.client.layout_fields(self.layout)
        unlinked = list(
            LedgerEntry.objects.filter(state=State.IMPORTED_UNLINKED).order_by("pk")
        )
        patients = self.target.patients_by_contact(e.contact_id for e in unlinked)
        for entry in unlinked:
            patient = patients.get(entry.contact_id.upper())
            if patient is None:
                result.still_unlinked += 1
                continue
            if refused := self.target.refusal(facts_from_filemaker(entry)):
                # Before anything is copied: the clinic's model would refuse
                # the row. The entry stays unlinked; the rerun looks again.
                result.failed[entry.filemaker_id] = str(refused)
                continue
            try:
                created = self._relink(entry, patient, receipt=receipt)
            except (StoreError, ReceiptWriteError) as exc:
                # One object's (or one record's) trouble stops only that
                # image: the entry is still unlinked with its old key, so the
                # rest go on and a rerun retries it.
                logger.warning("relink %s failed: %s", entry.filemaker_id, exc)
                result.failed[entry.filemaker_id] = str(exc)
                continue
            result.relinked.append(entry.filemaker_id)
            result.batches_created += int(created)
        return result

    def target_key(self, entry: LedgerEntry, patient_ref: str) -> str:
        """The patient's folder, the same file name (a version suffix kept)."""
        try:
            return keys.relinked_key(
                entry.s3_key,
                self.store.settings.key_prefix,
                patient_ref,
                entry.image_date,
                entry.filemaker_id,
            )
        except ValueError as exc:
            raise StoreError(str(exc)) from None

    def _relink(self, entry: LedgerEntry, patient: str, *, receipt: bool) -> bool:
        new_key = self.target_key(entry, patient)
        old_key = entry.s3_key
        if new_key != old_key:
            self.store.copy(old_key, new_key, sha256=entry.sha256)
        # The gallery's JPEGs, as the import makes them for linked images
        # (create-only and deterministic, so a rerun puts nothing new).
        thumbnail_key, display_key = store_derivatives(
            self.store, new_key, self.store.read(new_key)
        )
        mod_id = ""
        if receipt:
            try:
                mod_id = self.client.edit_record(
                    self.layout, entry.record_id, {self.fields.receipt_key: new_key}
                )
            except DataAPIError as exc:
                raise ReceiptWriteError(
                    f"FileMaker receipt write-back to record {entry.record_id} "
                    f"failed: {exc}"
                ) from exc
        if new_key != old_key:
            self.store.delete(old_key)
        facts = image_facts(
            entry,
            entry,
            s3_key=new_key,
            thumbnail_key=thumbnail_key,
            display_key=display_key,
        )
        with transaction.atomic():
            # The entry is unlinked until this commits, so no row of it
            # exists yet: row and ledger change land together or not at all.
            batch_ref, created = batch_for(self.target, patient, entry.image_date)
            image_ref = self.target.create_image(batch_ref, facts)
            if not ledger.record_relinked(
                entry,
                image_ref=image_ref,
                patient_ref=patient,
                s3_key=new_key,
                mod_id=mod_id,
                thumbnail_key=thumbnail_key,
                display_key=display_key,
            ):
                raise RelinkRaceError(f"{entry.filemaker_id} was relinked meanwhile")
        logger.info("relinked %s", entry.filemaker_id)
        return created
