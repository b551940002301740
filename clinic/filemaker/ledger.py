"""The only code that changes a LedgerEntry.

Each function is one named transition, written as a single UPDATE of the
entry's row, and records the facts a rerun needs to skip finished work: the
object's key and checksum after the upload, the Image after the database
commit, the modId after FileMaker was told. A rerun decides what is left to do
from those facts (see `next_step`), so a crash between any two steps is
repaired by running again.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from clinic.filemaker.models import ImportRun
from clinic.filemaker.models import LedgerEntry
from clinic.filemaker.models import State
from clinic.filemaker.pipeline.source import SourceRecord

DUPLICATE_ID = "duplicate_filemaker_id"

# What a record still needs, decided from the facts on its entry.
STEP_SELECT = "select"  # download, check, upload
STEP_PERSIST = "persist"  # database rows
STEP_MARK = "mark"  # FileMaker write-back
STEP_NONE = "none"


def next_step(entry: LedgerEntry) -> str:
    if entry.persisted_at is None:
        return STEP_PERSIST if entry.uploaded_at is not None else STEP_SELECT
    return STEP_MARK if entry.exported_at is None else STEP_NONE


def _update(entry: LedgerEntry, **changes: Any) -> None:
    changes["updated_at"] = timezone.now()
    LedgerEntry.objects.filter(pk=entry.pk).update(**changes)
    for name, value in changes.items():
        if not hasattr(value, "resolve_expression"):
            setattr(entry, name, value)


def register(src: SourceRecord, run: ImportRun) -> LedgerEntry:
    """The entry for a record this run is about to work on (created if new)."""
    described = {
        "filemaker_id_raw": src.filemaker_id_raw,
        "filemaker_id": src.filemaker_id or "",
        "contact_id": src.contact_id,
        "image_type": src.image_type,
        "image_date": src.image_date,
        "mod_id": src.mod_id,
        "modified_at_source": src.modified_at,
        "original_filename": src.original_filename,
    }
    entry, created = LedgerEntry.objects.get_or_create(
        record_id=src.record_id, defaults={**described, "run": run}
    )
    if not created:
        if entry.exported_at is not None:
            # FileMaker shows the record unexported again (cleared by hand or
            # by a rollback that did not finish): tell FileMaker once more.
            described["exported_at"] = None
        _update(entry, **described, run=run)
    return entry


def duplicate_of(src: SourceRecord) -> LedgerEntry | None:
    """Another record already holding this FileMaker id, if any."""
    if not src.filemaker_id:
        return None
    return (
        LedgerEntry.objects.filter(filemaker_id=src.filemaker_id)
        .exclude(record_id=src.record_id)
        .exclude(reason=DUPLICATE_ID)
        .order_by("pk")
        .first()
    )


def start_attempt(entry: LedgerEntry) -> None:
    _update(entry, attempts=F("attempts") + 1)
    entry.attempts += 1


def record_upload(
    entry: LedgerEntry,
    *,
    container_field: str,
    fields_tried: list[dict[str, Any]],
    size: int,
    sha256: str,
    content_type: str,
    width: int | None,
    height: int | None,
    s3_key: str,
) -> None:
    _update(
        entry,
        state=State.UPLOADED,
        reason="",
        last_error="",
        container_field=container_field,
        fields_tried=fields_tried,
        size=size,
        sha256=sha256,
        content_type=content_type,
        width=width,
        height=height,
        s3_key=s3_key,
        uploaded_at=timezone.now(),
    )


def record_persisted(entry: LedgerEntry, *, image: Any, patient: Any) -> None:
    """Called inside the transaction that created the Image (or none: unlinked)."""
    _update(
        entry,
        state=State.PERSISTED,
        image=image,
        patient=patient,
        persisted_at=timezone.now(),
    )


def record_exported(entry: LedgerEntry, *, mod_id: str) -> None:
    final = State.IMPORTED if entry.image_id is not None else State.IMPORTED_UNLINKED
    _update(
        entry,
        state=final,
        reason="",
        detail="",
        last_error="",
        exported_at=timezone.now(),
        exported_mod_id=mod_id,
    )


def record_skipped(
    entry: LedgerEntry, *, reason: str, detail: str, fields_tried: list[dict[str, Any]]
) -> None:
    _update(
        entry,
        state=State.SKIPPED,
        reason=reason,
        detail=detail,
        fields_tried=fields_tried,
    )


def record_failed(
    entry: LedgerEntry,
    *,
    reason: str,
    error: str,
    fields_tried: list[dict[str, Any]] | None = None,
) -> None:
    """A failure; the facts of finished steps are kept so a rerun resumes."""
    changes: dict[str, Any] = {
        "state": State.FAILED,
        "reason": reason,
        "last_error": error,
    }
    if fields_tried is not None:
        changes["fields_tried"] = fields_tried
    _update(entry, **changes)


def record_interrupted(entry: LedgerEntry) -> None:
    """Put an entry whose work a stopping run abandoned back to what its facts say."""
    state = {
        STEP_SELECT: State.PENDING,
        STEP_PERSIST: State.UPLOADED,
        STEP_MARK: State.PERSISTED,
    }.get(next_step(entry), entry.state)
    _update(entry, state=state)
