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
    """The entry for a record this run is about to work on (created if new).

    Counts the attempt too: every run that takes a record up is one.
    """
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
        record_id=src.record_id, defaults={**described, "run": run, "attempts": 1}
    )
    if not created:
        if entry.exported_at is not None:
            # FileMaker shows the record unexported again (cleared by hand or
            # by a rollback that did not finish): tell FileMaker once more.
            described["exported_at"] = None
        _update(entry, **described, run=run, attempts=F("attempts") + 1)
        entry.attempts += 1
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
    patient: Any,
    thumbnail_key: str = "",
    display_key: str = "",
) -> None:
    """The object is stored; `patient` (None: unlinked) decided its key."""
    _update(
        entry,
        state=State.UPLOADED,
        patient=patient,
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
        thumbnail_key=thumbnail_key,
        display_key=display_key,
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


# -- operations after the import (relink, rollback, refresh) --------------------

ROLLED_BACK = "rolled_back"


def record_relinked(
    entry: LedgerEntry,
    *,
    image: Any,
    patient: Any,
    s3_key: str,
    mod_id: str,
    thumbnail_key: str = "",
    display_key: str = "",
) -> bool:
    """An unlinked entry now linked to its patient: new key, Image, receipt modId.

    Conditional on the entry still being unlinked, so a second relink of the
    same entry changes nothing; returns whether this call made the change.
    """
    changes: dict[str, Any] = {
        "state": State.IMPORTED,
        "image": image,
        "patient": patient,
        "s3_key": s3_key,
        "thumbnail_key": thumbnail_key,
        "display_key": display_key,
        "persisted_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    if mod_id:
        changes["exported_mod_id"] = mod_id
    done = LedgerEntry.objects.filter(
        pk=entry.pk, state=State.IMPORTED_UNLINKED
    ).update(**changes)
    if done:
        for name, value in changes.items():
            setattr(entry, name, value)
    return bool(done)


def record_rolled_back(entry: LedgerEntry) -> None:
    """FileMaker cleared and the rows removed; only the object may remain.

    The entry goes back to pending with reason "rolled_back", its database
    and export facts cleared, but its s3_key and sha256 kept: they are what a
    rerun of the rollback needs to delete the object (and what an import run
    in between would find there, with the same bytes, and reuse).
    """
    _update(
        entry,
        state=State.PENDING,
        reason=ROLLED_BACK,
        detail="",
        last_error="",
        image=None,
        patient=None,
        uploaded_at=None,
        persisted_at=None,
        exported_at=None,
        exported_mod_id="",
    )


def forget(entry: LedgerEntry) -> None:
    """The last step of a rollback: the entry goes, as if never imported."""
    LedgerEntry.objects.filter(pk=entry.pk, reason=ROLLED_BACK).delete()


def record_new_version(
    entry: LedgerEntry,
    *,
    s3_key: str,
    sha256: str,
    size: int,
    content_type: str,
    width: int | None,
    height: int | None,
    container_field: str,
    mod_id: str,
    modified_at_source: str,
    thumbnail_key: str = "",
    display_key: str = "",
) -> None:
    """A record changed after its export was imported again as a new version.

    exported_mod_id is left as it was: until FileMaker has been told the new
    receipt (record_export_mod_id), the record still reads as changed, so a
    rerun after a crash here finishes the write-back.
    """
    _update(
        entry,
        s3_key=s3_key,
        sha256=sha256,
        size=size,
        content_type=content_type,
        width=width,
        height=height,
        container_field=container_field,
        mod_id=mod_id,
        modified_at_source=modified_at_source,
        thumbnail_key=thumbnail_key,
        display_key=display_key,
    )


def record_export_mod_id(entry: LedgerEntry, *, mod_id: str) -> None:
    """FileMaker was told again (a receipt); the record's modId after that write."""
    _update(entry, exported_mod_id=mod_id, mod_id=mod_id, exported_at=timezone.now())
