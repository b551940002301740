"""The only code that changes a LedgerEntry.

Each function is one named transition, written as a single UPDATE of the
entry's row, and records the facts a rerun needs to skip finished work: the
object's key and checksum after the upload, the image row after the database
commit, the modId after FileMaker was told. A rerun decides what is left to do
from those facts (see `next_step`), so a crash between any two steps is
repaired by running again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone

from filemaker_migration.decode_budget import OVER_BUDGET
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.source import SourceRecord

DUPLICATE_ID = "duplicate_filemaker_id"
# A fact the clinic's image model would refuse (targets/validation.py).
ROW_REFUSED = "row_refused"
# Skips that depend on more than the record, so an unchanged record is looked
# at again on every run: a duplicate id (the other record may have been given
# a new id), a picture over the decode budget (the budget may have grown), a
# row the clinic's model refused (the model may have been widened).
RECHECKED_SKIPS = (DUPLICATE_ID, OVER_BUDGET, ROW_REFUSED)

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


def entries_for(sources: list[SourceRecord]) -> dict[str, LedgerEntry]:
    """The existing entries of a page of records, by record id (one query)."""
    ids = [src.record_id for src in sources]
    return {e.record_id: e for e in LedgerEntry.objects.filter(record_id__in=ids)}


def holders_of(sources: list[SourceRecord]) -> dict[str, set[str]]:
    """Which records already hold each FileMaker id of a page (one query).

    Entries skipped as duplicates hold nothing: the first record keeps the id.
    """
    ids = {src.filemaker_id for src in sources if src.filemaker_id}
    holders: dict[str, set[str]] = {}
    rows = (
        LedgerEntry.objects.filter(filemaker_id__in=ids)
        .exclude(reason=DUPLICATE_ID)
        .values_list("filemaker_id", "record_id")
    )
    for filemaker_id, record_id in rows:
        holders.setdefault(filemaker_id, set()).add(record_id)
    return holders


def register(
    src: SourceRecord, run: ImportRun, existing: LedgerEntry | None
) -> LedgerEntry:
    """The entry for a record this run is about to work on.

    `existing` is the record's entry as looked up by `entries_for` (None: a
    record never seen, whose entry is created). Counts the attempt too: every
    run that takes a record up is one.
    """
    described = {
        "filemaker_id_raw": src.filemaker_id_raw,
        "filemaker_id": src.filemaker_id or "",
        "contact_id": src.contact_id,
        "image_type": src.image_type,
        "image_date": src.image_date,
        "image_date_raw": src.image_date_raw,
        "mod_id": src.mod_id,
        "modified_at_source": src.modified_at,
        "original_filename": src.original_filename,
    }
    if existing is None:
        return LedgerEntry.objects.create(
            record_id=src.record_id, run=run, attempts=1, **described
        )
    if existing.exported_at is not None:
        # FileMaker shows the record unexported again (cleared by hand or by
        # a rollback that did not finish): tell FileMaker once more.
        described["exported_at"] = None
    _update(existing, **described, run=run, attempts=F("attempts") + 1)
    existing.attempts += 1
    return existing


@dataclass(frozen=True)
class Upload:
    """What storing a record's object established: the facts a rerun needs."""

    s3_key: str
    sha256: str
    size: int
    content_type: str
    width: int | None
    height: int | None
    container_field: str
    fields_tried: list[dict[str, Any]]
    patient_ref: str  # "": unlinked; the patient decided the key
    thumbnail_key: str = ""
    display_key: str = ""

    def changes(self) -> dict[str, Any]:
        return {
            "s3_key": self.s3_key,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "width": self.width,
            "height": self.height,
            "container_field": self.container_field,
            "fields_tried": self.fields_tried,
            "patient_ref": self.patient_ref,
            "thumbnail_key": self.thumbnail_key,
            "display_key": self.display_key,
            "reason": "",
            "last_error": "",
            "uploaded_at": timezone.now(),
        }


def record_upload(entry: LedgerEntry, upload: Upload) -> None:
    """The object is stored, but its rows are not: the rerun commits them."""
    _update(entry, state=State.UPLOADED, **upload.changes())


def record_persisted(
    entry: LedgerEntry, *, image_ref: str, upload: Upload | None = None
) -> None:
    """Called inside the transaction that created the image row ("": unlinked).

    With `upload` (this run stored the object), the upload's facts are noted in
    the same UPDATE: one write instead of two, and a crash before this
    transaction commits simply means the object is met again, by checksum, on
    the rerun's put.
    """
    changes = upload.changes() if upload is not None else {}
    _update(
        entry,
        **changes,
        state=State.PERSISTED,
        image_ref=image_ref,
        persisted_at=timezone.now(),
    )


def record_image_recreated(entry: LedgerEntry, *, image_ref: str) -> None:
    """Repair created the image row again (the clinic's database had lost
    it): the entry names the new row; its state and history stay."""
    _update(entry, image_ref=image_ref)


def record_exported(entry: LedgerEntry, *, mod_id: str) -> None:
    """Imported: no reason of its own. Its notes (an unreadable date, a name
    claiming another type) are read from its facts (`image_date_raw`,
    `original_filename` against `s3_key`), as the admin does."""
    final = State.IMPORTED if entry.image_ref else State.IMPORTED_UNLINKED
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


# -- operations after the import (relink, rollback, refresh) --------------------

ROLLED_BACK = "rolled_back"


def record_relinked(
    entry: LedgerEntry,
    *,
    image_ref: str,
    patient_ref: str,
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
        "image_ref": image_ref,
        "patient_ref": patient_ref,
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
        image_ref="",
        patient_ref="",
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
