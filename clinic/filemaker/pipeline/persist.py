"""Database rows for an uploaded image, in one short transaction.

Runs after the upload, never around it: a transaction held open across a
network call would block other workers' writes for as long as S3 takes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.db import transaction

from clinic.filemaker import ledger
from clinic.filemaker.models import LedgerEntry
from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.images.models import ImportSource
from clinic.patients.models import Patient


class PersistConflictError(Exception):
    """An Image with this FileMaker id already exists with another object key."""


def batch_name(date: dt.date | None) -> str:
    if date is None:
        return "Unknown date (FileMaker Import)"
    return f"{date.day} {date:%b %Y} (FileMaker Import)"


def find_patient(contact_id: str) -> Patient | None:
    if not contact_id:
        return None
    return Patient.objects.filter(filemaker_id=contact_id.upper()).first()


def patients_by_contact(contact_ids: Iterable[str]) -> dict[str, Patient]:
    """The patients of a page of records, by upper-case contact id (one query)."""
    wanted = {contact_id.upper() for contact_id in contact_ids if contact_id}
    return {
        patient.filemaker_id.upper(): patient
        for patient in Patient.objects.filter(filemaker_id__in=wanted)
    }


def _imported_batch(patient: Patient, date: dt.date | None) -> dict[str, object]:
    """What identifies the patient's imported batch for a date (unique in the db)."""
    return {
        "patient": patient,
        "captured_date": date,
        "import_source": ImportSource.FILEMAKER_IMPORT,
    }


def batch_for(patient: Patient, date: dt.date | None) -> tuple[ImageBatch, bool]:
    """The patient's imported batch for a date; the database keeps it unique."""
    return ImageBatch.objects.get_or_create(
        **_imported_batch(patient, date), defaults={"batch_name": batch_name(date)}
    )


def persist(entry: LedgerEntry, upload: ledger.Upload | None = None) -> bool:
    """Create the batch (if new) and the Image, and note both on the ledger.

    `upload` carries the facts of an object this run stored (else they are on
    the entry already, from an earlier run). Returns True when a new batch was
    created. An unlinked image gets no rows (it has no batch) but its ledger
    entry is moved on all the same.

    What can be read is read before the transaction: SQLite takes writers one
    at a time, so the transaction holds only the writes.
    """
    stored = upload if upload is not None else entry
    patient = stored.patient
    if patient is None:
        ledger.record_persisted(entry, image=None, upload=upload)  # one UPDATE
        return False
    filemaker_id = uuid.UUID(entry.filemaker_id)
    image = Image.objects.filter(filemaker_id=filemaker_id).first()
    if image is not None and image.s3_key != stored.s3_key:
        raise PersistConflictError(
            f"Image for FileMaker id {entry.filemaker_id} already exists "
            f"with key {image.s3_key}"
        )
    batch = ImageBatch.objects.filter(
        **_imported_batch(patient, entry.image_date)
    ).first()
    created = False
    with transaction.atomic():
        if batch is None:
            batch, created = batch_for(patient, entry.image_date)
        if image is None:
            # The ledger holds one record per FileMaker id and the run lock
            # one run at a time, so nothing else inserts this id meanwhile;
            # if something did, the unique constraint fails this transaction
            # and the record, and the rerun finds the row.
            image = Image.objects.create(
                filemaker_id=filemaker_id,
                batch=batch,
                s3_key=stored.s3_key,
                original_filename=entry.original_filename,
                file_size=stored.size or 0,
                category=entry.image_type,
                filemaker_type=entry.image_type,
                filemaker_date=entry.image_date,
                content_type=stored.content_type,
                sha256=stored.sha256,
                width=stored.width,
                height=stored.height,
                container_field=stored.container_field,
                thumbnail_key=stored.thumbnail_key,
                display_key=stored.display_key,
            )
        ledger.record_persisted(entry, image=image, upload=upload)
    return created
