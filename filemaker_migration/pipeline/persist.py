"""The clinic's rows for a stored image, through the target, in one short transaction.

This module says what identifies an imported batch: the migration's
`VisitBatch` row for (patient, visit date), whose unique constraint keeps one
batch per patient and date whatever the clinic's batch table constrains.

Runs after the upload, never around it: a transaction held open across a
network call would block other workers' writes for as long as S3 takes.

Every write into a batch first locks the batch's VisitBatch row (`batch_for`,
`lock_batch`) until the transaction ends. A clinic's `Image.save()` or signal
that recounts or renumbers its batch by reading the batch's rows then sees
every other write into that batch committed, whatever the number of threads,
processes or hosts; without the lock, two workers on PostgreSQL each count
before the other's row is committed and the count ends low. Writes into
different batches do not wait for each other. (SQLite takes one writer at a
time anyway; Django makes `select_for_update()` a no-op there.)
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


def known_batch(
    patient_ref: str, date: dt.date | None, *, lock: bool = False
) -> str | None:
    """The ref of the patient's imported batch for a date, if it exists;
    `lock` (inside a transaction) holds its row until the transaction ends."""
    rows = VisitBatch.objects.filter(patient_ref=patient_ref, visit=visit_of(date))
    if lock:
        rows = rows.select_for_update()
    return rows.values_list("batch_ref", flat=True).first()


def lock_batch(batch_ref: str) -> None:
    """Hold the imported batch's row until the transaction ends (see above).
    Call inside a transaction, before writing into the batch."""
    list(
        VisitBatch.objects.select_for_update()
        .filter(batch_ref=batch_ref)
        .values_list("pk", flat=True)
    )


def batch_for(
    target: Target, patient_ref: str, date: dt.date | None
) -> tuple[str, bool]:
    """The patient's imported batch for a date, created when new; (ref, created).
    Either way the batch is locked until the transaction ends (see above).

    Call inside a transaction. Two workers creating the same visit's batch at
    once: the second's VisitBatch insert fails on the unique constraint (on
    PostgreSQL after waiting for the first to commit; SQLite takes writers one
    at a time), its savepoint takes back the batch it created, and it uses the
    first one's, locked. A new batch's row is locked by its own insert.
    """
    existing = known_batch(patient_ref, date, lock=True)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            batch_ref = target.create_batch(patient_ref, date)
            VisitBatch.objects.create(
                patient_ref=patient_ref, visit=visit_of(date), batch_ref=batch_ref
            )
    except IntegrityError:
        again = known_batch(patient_ref, date, lock=True)
        if again is None:
            raise  # not the race: the clinic's table refused the batch
        return again, False
    return batch_ref, True


def facts_from_filemaker(record: Any) -> dict[str, Any]:
    """The image facts a record (SourceRecord or LedgerEntry) brings from
    FileMaker itself, known before any download: what `Target.refusal` checks
    before the record's container is fetched."""
    return {
        "filemaker_id": record.filemaker_id,
        "image_type": record.image_type,
        "image_date": record.image_date,
        "original_filename": record.original_filename,
    }


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
    The facts are put together before the transaction, so that it holds the
    batch's lock (and SQLite's one writer) for the writes only.
    """
    stored = upload if upload is not None else entry
    patient_ref = stored.patient_ref
    if not patient_ref:
        ledger.record_persisted(entry, image_ref="", upload=upload)  # one UPDATE
        return False
    facts = image_facts(entry, stored)
    with transaction.atomic():
        batch_ref, created = batch_for(target, patient_ref, entry.image_date)
        image_ref = target.create_image(batch_ref, facts)
        ledger.record_persisted(entry, image_ref=image_ref, upload=upload)
    return created
