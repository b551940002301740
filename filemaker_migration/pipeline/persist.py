"""The clinic's rows for a stored image, through the target, in one short transaction.

This module says what identifies an imported batch: the migration's
`VisitBatch` row for (patient, visit date), whose unique constraint keeps one
batch per patient and date whatever the clinic's batch table constrains.

Runs after the upload, never around it: a transaction held open across a
network call would block other workers' writes for as long as S3 takes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import IntegrityError
from django.db import transaction

from filemaker_migration import ledger
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import VisitBatch
from filemaker_migration.targets import ImageFacts
from filemaker_migration.targets import Target


def visit_of(date: dt.date | None) -> str:
    """The VisitBatch key of a date ("" for the undated images)."""
    return date.isoformat() if date else ""


def known_batch(patient_ref: str, date: dt.date | None) -> str | None:
    """The ref of the patient's imported batch for a date, if it exists."""
    return (
        VisitBatch.objects.filter(patient_ref=patient_ref, visit=visit_of(date))
        .values_list("batch_ref", flat=True)
        .first()
    )


def batch_for(
    target: Target, patient_ref: str, date: dt.date | None
) -> tuple[str, bool]:
    """The patient's imported batch for a date, created when new; (ref, created).

    Call inside a transaction. Two workers creating the same visit's batch at
    once: the second's VisitBatch insert fails on the unique constraint (on
    PostgreSQL after waiting for the first to commit; SQLite takes writers one
    at a time), its savepoint takes back the batch it created, and it uses the
    first one's.
    """
    existing = known_batch(patient_ref, date)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            batch_ref = target.create_batch(patient_ref, date)
            VisitBatch.objects.create(
                patient_ref=patient_ref, visit=visit_of(date), batch_ref=batch_ref
            )
    except IntegrityError:
        again = known_batch(patient_ref, date)
        if again is None:
            raise  # not the race: the clinic's table refused the batch
        return again, False
    return batch_ref, True


def image_facts(entry: LedgerEntry, stored: Any, **changes: Any) -> ImageFacts:
    """What the target gets for a record: described by `entry`, stored as
    `stored` says (an Upload of this run, or the entry itself)."""
    facts = ImageFacts(
        filemaker_id=entry.filemaker_id,
        s3_key=stored.s3_key,
        size=stored.size or 0,
        sha256=stored.sha256,
        content_type=stored.content_type,
        width=stored.width,
        height=stored.height,
        container_field=stored.container_field,
        thumbnail_key=stored.thumbnail_key,
        display_key=stored.display_key,
        image_type=entry.image_type,
        image_date=entry.image_date,
        original_filename=entry.original_filename,
        # FileMaker's recordIds grow with each new record: its record order.
        order=int(entry.record_id) if entry.record_id.isdigit() else 0,
    )
    return dataclasses.replace(facts, **changes)


def persist(
    target: Target, entry: LedgerEntry, upload: ledger.Upload | None = None
) -> bool:
    """Create the batch (if new) and the image row, and note both on the ledger.

    `upload` carries the facts of an object this run stored (else they are on
    the entry already, from an earlier run). Returns True when a new batch was
    created. An unlinked image gets no rows (it has no batch) but its ledger
    entry is moved on all the same.

    The ledger entry's image_ref is written in the same transaction as the
    image row, so a rerun finds either both or neither: one row per record.
    What can be read is read before the transaction: SQLite takes writers one
    at a time, so the transaction holds only the writes.
    """
    stored = upload if upload is not None else entry
    patient_ref = stored.patient_ref
    if not patient_ref:
        ledger.record_persisted(entry, image_ref="", upload=upload)  # one UPDATE
        return False
    facts = image_facts(entry, stored)
    batch_ref = known_batch(patient_ref, entry.image_date)
    created = False
    with transaction.atomic():
        if batch_ref is None:
            batch_ref, created = batch_for(target, patient_ref, entry.image_date)
        image_ref = target.create_image(batch_ref, facts)
        ledger.record_persisted(entry, image_ref=image_ref, upload=upload)
    return created
