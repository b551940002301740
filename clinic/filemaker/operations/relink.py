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
    4. database    in one transaction: the batch (batch_for), the Image, and
                   the ledger entry moved to imported with the new key

The ledger entry stays "imported_unlinked", with the old key, until the last
step, so a crash anywhere leaves an entry the next relink takes up again and
every step before it is idempotent: the copy finds its target already there
(and the old object possibly gone, which is why the copy checks the target
before the source), the receipt is written again, the delete of a missing
object is a no-op. The new object is verified before the old one is deleted,
so no step can lose the image.
"""

from __future__ import annotations

import logging
import posixpath
import uuid
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from django.db import transaction

from clinic.filemaker import ledger
from clinic.filemaker.dataapi import DataAPIClient
from clinic.filemaker.fields import ImageFields
from clinic.filemaker.models import LedgerEntry
from clinic.filemaker.models import State
from clinic.filemaker.pipeline import keys
from clinic.filemaker.pipeline.persist import batch_for
from clinic.filemaker.pipeline.persist import find_patient
from clinic.filemaker.s3store import ObjectStore
from clinic.filemaker.s3store import StoreError
from clinic.images.derivative_store import store_derivatives
from clinic.images.models import Image
from clinic.patients.models import Patient

logger = logging.getLogger(__name__)


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

    def run(self) -> RelinkResult:
        result = RelinkResult()
        receipt = self.fields.receipt_key in self.client.layout_fields(self.layout)
        unlinked = LedgerEntry.objects.filter(state=State.IMPORTED_UNLINKED)
        for entry in unlinked.order_by("pk"):
            patient = find_patient(entry.contact_id)
            if patient is None:
                result.still_unlinked += 1
                continue
            try:
                created = self._relink(entry, patient, receipt=receipt)
            except StoreError as exc:
                # One object's trouble stops only that image; the rest go on
                # and a rerun retries it.
                logger.warning("relink %s failed: %s", entry.filemaker_id, exc)
                result.failed[entry.filemaker_id] = str(exc)
                continue
            result.relinked.append(entry.filemaker_id)
            result.batches_created += int(created)
        return result

    def target_key(self, entry: LedgerEntry, patient: Patient) -> str:
        """The patient's folder, the same file name (a version suffix kept)."""
        name = posixpath.basename(entry.s3_key)
        if not name.startswith(f"{entry.filemaker_id}."):
            raise StoreError(f"unexpected ledger key {entry.s3_key}")
        ext = name.rsplit(".", 1)[1]
        folder = posixpath.dirname(
            keys.linked_key(
                self.store.settings.key_prefix,
                patient.id,
                entry.image_date,
                entry.filemaker_id,
                ext,
            )
        )
        return f"{folder}/{name}"

    def _relink(self, entry: LedgerEntry, patient: Patient, *, receipt: bool) -> bool:
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
            mod_id = self.client.edit_record(
                self.layout, entry.record_id, {self.fields.receipt_key: new_key}
            )
        if new_key != old_key:
            self.store.delete(old_key)
        with transaction.atomic():
            batch, created = batch_for(patient, entry.image_date)
            image, _ = Image.objects.get_or_create(
                filemaker_id=uuid.UUID(entry.filemaker_id),
                defaults={
                    "batch": batch,
                    "s3_key": new_key,
                    "original_filename": entry.original_filename,
                    "file_size": entry.size or 0,
                    "category": entry.image_type,
                    "filemaker_type": entry.image_type,
                    "filemaker_date": entry.image_date,
                    "content_type": entry.content_type,
                    "sha256": entry.sha256,
                    "width": entry.width,
                    "height": entry.height,
                    "container_field": entry.container_field,
                    "thumbnail_key": thumbnail_key,
                    "display_key": display_key,
                },
            )
            ledger.record_relinked(
                entry,
                image=image,
                patient=patient,
                s3_key=new_key,
                mod_id=mod_id,
                thumbnail_key=thumbnail_key,
                display_key=display_key,
            )
        logger.info("relinked %s", entry.filemaker_id)
        return created
