"""Undo what an import run created, so "import 10, review, clean up" works.

For each ledger entry of the run (or every entry, with --all), in this order:

    1. FileMaker   clear NexusExportDate and the receipt fields
    2. database    in one transaction: delete the image row (through the
                   target), the batch and its VisitBatch row if it is now
                   empty; move the ledger entry to pending/"rolled_back",
                   keeping its s3_key
    3. S3          delete the object (only if it holds the ledger's SHA-256),
                   its derivatives and the objects of its earlier versions
    4. ledger      forget the entry

Why this order. FileMaker first: the export marker is what makes the import
take a record, so it is cleared before anything it vouches for disappears.
Stopped after step 1, the import would simply export the record again (its
entry and object are still there, so it reuses them); there is never a moment
when FileMaker says "exported" while the image is gone, which would lose it
for good. The database before S3: an Image row pointing at a deleted object is
a broken picture in the clinic's app, while an object without a row is
invisible and harmless. The ledger entry goes last because it holds the key of
the object still to delete: stopped anywhere, the entry (or its rolled-back
remains) is still there, and running the rollback again finishes the job.

An object S3 will not delete (or head) fails that entry only: it is reported in
`failed`, its rolled-back entry is kept with the key, and the others go on.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from django.db import transaction

from filemaker_migration import ledger
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import RecordMissingError
from filemaker_migration.fields import ImageFields
from filemaker_migration.keys import derivative_keys
from filemaker_migration.models import ImageVersion
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import VisitBatch
from filemaker_migration.pipeline import lock_batch
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError
from filemaker_migration.targets import ImageRow
from filemaker_migration.targets import Target
from filemaker_migration.targets import get_target

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedRemoval:
    """What rolling back one ledger entry removes."""

    record_id: str
    filemaker_id: str
    state: str
    s3_keys: list[str]
    image: bool
    batch: str  # the batch's id when it would be left empty, else ""


@dataclass
class RollbackResult:
    applied: bool
    planned: list[PlannedRemoval] = field(default_factory=list)
    filemaker_cleared: int = 0
    images_deleted: int = 0
    batches_deleted: int = 0
    objects_deleted: int = 0
    entries_removed: int = 0
    # FileMaker id (record id if it has none) -> why its objects remain.
    failed: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "entries": len(self.planned),
            "objects": sum(len(p.s3_keys) for p in self.planned),
            "images": sum(p.image for p in self.planned),
            "batches": len({p.batch for p in self.planned if p.batch}),
            "filemaker_cleared": self.filemaker_cleared,
            "images_deleted": self.images_deleted,
            "batches_deleted": self.batches_deleted,
            "objects_deleted": self.objects_deleted,
            "entries_removed": self.entries_removed,
            "failed": self.failed,
        }


def entries_for(run_id: int | None) -> list[LedgerEntry]:
    """A run's entries (the run that last worked on each record), or all."""
    entries = LedgerEntry.objects.all()
    if run_id is not None:
        entries = entries.filter(run_id=run_id)
    return list(entries.order_by("pk"))


@dataclass
class Rollback:
    client: DataAPIClient
    layout: str
    fields: ImageFields
    store: ObjectStore
    target: Target = dataclasses.field(default_factory=get_target)

    def plan(self, entries: list[LedgerEntry]) -> RollbackResult:
        result = RollbackResult(applied=False)
        emptied = self._batches_left_empty(entries)
        prefix = self.store.settings.key_prefix + "/"
        existing = {o.key for o in self.store.list_keys(prefix)}
        for entry in entries:
            image = self._image_of(entry)
            result.planned.append(
                PlannedRemoval(
                    record_id=entry.record_id,
                    filemaker_id=entry.filemaker_id,
                    state=entry.state,
                    s3_keys=[k for k in self._keys_of(entry) if k in existing],
                    image=image is not None,
                    batch=image.batch_ref
                    if image is not None and image.batch_ref in emptied
                    else "",
                )
            )
        return result

    def apply(self, entries: list[LedgerEntry]) -> RollbackResult:
        result = self.plan(entries)
        result.applied = True
        # Step by step over all entries (not entry by entry), so that however
        # far an interrupted rollback got, each earlier step is done for all.
        erase = self._erase_values()
        for entry in entries:
            if self._clear_filemaker(entry, erase):
                result.filemaker_cleared += 1
        for entry in entries:
            images, batches = self._remove_rows(entry)
            result.images_deleted += images
            result.batches_deleted += batches
        for planned, entry in zip(result.planned, entries, strict=True):
            try:
                self._remove_objects(entry, planned.s3_keys, result)
            except StoreError as exc:
                # Not forgotten: the rolled-back entry keeps the key, so the
                # next rollback deletes what is left. The others go on.
                logger.warning("rollback: %s kept: %s", entry.record_id, exc)
                result.failed[entry.filemaker_id or entry.record_id] = str(exc)
                continue
            ledger.forget(entry)
            result.entries_removed += 1
        return result

    # -- the steps -------------------------------------------------------------

    def _erase_values(self) -> dict[str, str]:
        layout_fields = self.client.layout_fields(self.layout)
        names = [self.fields.export_date]
        names += [
            name
            for name in (self.fields.receipt_key, self.fields.receipt_sha256)
            if name in layout_fields
        ]
        return dict.fromkeys(names, "")

    def _clear_filemaker(self, entry: LedgerEntry, erase: dict[str, str]) -> bool:
        try:
            record = self.client.get_record(self.layout, entry.record_id)
        except RecordMissingError:
            return False
        if not any(str(record.get(name, "")) for name in erase):
            return False  # never exported, or cleared by an earlier attempt
        self.client.edit_record(self.layout, entry.record_id, erase)
        logger.info("rollback: cleared export marker of %s", entry.filemaker_id)
        return True

    def _remove_rows(self, entry: LedgerEntry) -> tuple[int, int]:
        images = batches = 0
        with transaction.atomic():
            image = self._image_of(entry)
            if image is not None:
                # Held before the delete: the clinic's own recount in delete()
                # and the emptiness check below see the batch as it is.
                lock_batch(image.batch_ref)
                self.target.delete_image(image.ref)
                images = 1
                if not self.target.batch_image_count(image.batch_ref):
                    self.target.delete_batch(image.batch_ref)
                    VisitBatch.objects.filter(batch_ref=image.batch_ref).delete()
                    batches = 1
            ledger.record_rolled_back(entry)
        return images, batches

    def _image_of(self, entry: LedgerEntry) -> ImageRow | None:
        """The entry's image row, by the ref the ledger noted with it."""
        return self.target.image(entry.image_ref) if entry.image_ref else None

    def _batches_left_empty(self, entries: list[LedgerEntry]) -> set[str]:
        removed: dict[str, int] = {}
        for entry in entries:
            image = self._image_of(entry)
            if image is not None:
                removed[image.batch_ref] = removed.get(image.batch_ref, 0) + 1
        return {
            batch_ref
            for batch_ref, count in removed.items()
            if self.target.batch_image_count(batch_ref) == count
        }

    def _keys_of(self, entry: LedgerEntry) -> list[str]:
        """The entry's object, its derivatives and its earlier versions."""
        originals = [entry.s3_key] if entry.s3_key else []
        if entry.filemaker_id:
            originals.extend(
                ImageVersion.objects.filter(
                    filemaker_id=uuid.UUID(entry.filemaker_id)
                ).values_list("s3_key", flat=True)
            )
        keys = []
        for key in originals:
            keys.append(key)
            keys.extend(derivative_keys(key))
        return keys

    def _remove_objects(
        self, entry: LedgerEntry, keys: list[str], result: RollbackResult
    ) -> None:
        # Counted one by one: an entry that fails part-way has still deleted
        # the objects before the one that failed.
        for key in keys:
            info = self.store.head(key)
            if info is None:
                continue
            if key == entry.s3_key and entry.sha256 and info.sha256 != entry.sha256:
                # Not the bytes this import put there: not ours to delete.
                logger.warning("rollback: kept %s, its SHA-256 is not ours", key)
                continue
            self.store.delete(key)
            result.objects_deleted += 1
        # Only once every object is gone: the versions' rows hold the keys of
        # earlier versions' objects, which a rerun still needs to find.
        if entry.filemaker_id:
            ImageVersion.objects.filter(
                filemaker_id=uuid.UUID(entry.filemaker_id)
            ).delete()
