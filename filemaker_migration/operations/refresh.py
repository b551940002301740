"""import --refresh-changed: records edited after their export, imported again.

A record whose modId differs from the one the ledger noted after the
write-back has changed in FileMaker since. Its container is chosen again by
the waterfall; if the bytes are new, they become a new version:

    1. S3          put under a versioned key beside the current one,
                   {FILEMAKER_ID}.v{N}.{ext} (N = 2, 3, ...), create-only
    2. database    in one transaction: an ImageVersion row keeps the replaced
                   object's key and checksum, the image row (through the
                   target) points at the new one and takes the record's
                   current Type, the ledger entry takes the new key and
                   checksum
    3. FileMaker   NexusExportDate and receipts written again; the ledger notes
                   the record's modId after that write

The old object is never touched. If the bytes are the same (only other fields
changed), the image row's Type is refreshed and step 3 is all there is. The ledger
keeps the old exported modId until step 3, so a crash anywhere leaves the
record still "changed" and a rerun finishes: the put finds its own bytes
already at the versioned key, and the database step has nothing left to do.
A changed date does not move an image to another batch (review it by hand).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from django.db import transaction
from django.db.models import Max

from filemaker_migration import ledger
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.dataapi import FieldMeta
from filemaker_migration.dataapi import Record
from filemaker_migration.derivative_store import store_derivatives
from filemaker_migration.fields import ImageFields
from filemaker_migration.keys import versioned_key
from filemaker_migration.models import EXPORTED_STATES
from filemaker_migration.models import ImageVersion
from filemaker_migration.models import LedgerEntry
from filemaker_migration.operations.records import iter_records
from filemaker_migration.pipeline import LOCK_NAME
from filemaker_migration.pipeline import ChecksumMismatchError
from filemaker_migration.pipeline import Chosen
from filemaker_migration.pipeline import NoUsableImageError
from filemaker_migration.pipeline import choose_container
from filemaker_migration.pipeline import mark_exported
from filemaker_migration.runlock import RunLockHandle
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError
from filemaker_migration.source import parse_record
from filemaker_migration.targets import Target
from filemaker_migration.targets import get_target

logger = logging.getLogger(__name__)


@dataclass
class RefreshResult:
    changed: int = 0
    new_versions: list[str] = field(default_factory=list)  # FileMaker ids
    failed: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "new_versions": len(self.new_versions),
            "failed": self.failed,
        }


@dataclass
class Refresher:
    client: DataAPIClient
    layout: str
    fields: ImageFields
    store: ObjectStore
    _: KW_ONLY
    max_bytes: int = 200 * 1024 * 1024
    target: Target = field(default_factory=get_target)

    def run(self) -> RefreshResult:
        result = RefreshResult()
        layout_fields = self.client.layout_fields(self.layout)
        records = {r.record_id: r for r in iter_records(self.client, self.layout)}
        exported = LedgerEntry.objects.filter(state__in=EXPORTED_STATES)
        for entry in exported.order_by("pk"):
            record = records.get(entry.record_id)
            if record is None or record.mod_id == entry.exported_mod_id:
                continue
            if not str(record.get(self.fields.export_date, "")).strip():
                continue  # shown unexported again: the import itself takes it
            result.changed += 1
            try:
                if self._refresh(entry, record, layout_fields):
                    result.new_versions.append(entry.filemaker_id)
            except (
                DataAPIError,
                StoreError,
                NoUsableImageError,
                ChecksumMismatchError,
            ) as exc:
                logger.warning("refresh %s failed: %s", entry.filemaker_id, exc)
                result.failed[entry.filemaker_id] = f"{type(exc).__name__}: {exc}"
        return result

    def _refresh(
        self, entry: LedgerEntry, record: Record, layout_fields: dict[str, FieldMeta]
    ) -> bool:
        src = parse_record(record, self.fields, use_thumbnail=False)
        chosen = choose_container(
            self.client,
            self.layout,
            src,
            max_bytes=self.max_bytes,
            md5_of=self.fields.md5_of,
        )
        try:
            new = chosen.download.sha256 != entry.sha256
            if new:
                self._store_version(entry, chosen, record)
            if entry.image_ref and src.image_type:
                self.target.update_image(
                    entry.image_ref, {"image_type": src.image_type}
                )
        finally:
            chosen.close()
        mod_id = mark_exported(
            self.client, self.layout, entry, self.fields, layout_fields
        )
        ledger.record_export_mod_id(entry, mod_id=mod_id)
        return new

    def _store_version(self, entry: LedgerEntry, chosen: Chosen, record: Record):
        fmid = uuid.UUID(entry.filemaker_id)
        kept = ImageVersion.objects.filter(filemaker_id=fmid)
        version = (kept.aggregate(top=Max("version"))["top"] or 0) + 2
        key = versioned_key(
            entry.s3_key, entry.filemaker_id, version, chosen.info.type.extension
        )
        self.store.put_create_only(
            key,
            chosen.body,
            sha256=chosen.download.sha256,
            content_type=chosen.info.type.content_type,
        )
        # The new version's own gallery JPEGs (only images with a row have them).
        derived = ("", "")
        if entry.image_ref:
            derived = store_derivatives(self.store, key, chosen.body)
        with transaction.atomic():
            ImageVersion.objects.get_or_create(
                filemaker_id=fmid,
                version=version - 1,
                defaults={
                    "s3_key": entry.s3_key,
                    "file_size": entry.size or 0,
                    "sha256": entry.sha256,
                    "content_type": entry.content_type,
                    "container_field": entry.container_field,
                },
            )
            # The new version's facts, for both the image row and the ledger.
            facts = {
                "s3_key": key,
                "sha256": chosen.download.sha256,
                "content_type": chosen.info.type.content_type,
                "width": chosen.info.width,
                "height": chosen.info.height,
                "container_field": chosen.field,
                "thumbnail_key": derived[0],
                "display_key": derived[1],
            }
            if entry.image_ref:
                self.target.update_image(
                    entry.image_ref, {"size": chosen.download.size, **facts}
                )
            ledger.record_new_version(
                entry,
                size=chosen.download.size,
                mod_id=record.mod_id,
                modified_at_source=str(record.get(self.fields.modified_at, ""))[:40],
                **facts,
            )
        logger.info("new version %d of %s", version, entry.filemaker_id)


def refresh_changed(fm: FileMakerSettings, store: ObjectStore) -> str:
    """Run the refresh under the import's lock; returns its summary line.

    Records that fail are named in it and taken up again by the next
    --refresh-changed (they still read as changed).
    """
    lock = RunLockHandle(LOCK_NAME, None)
    try:
        with fm.client(max_concurrency=2) as client:
            result = Refresher(client, fm.layout, fm.image_fields, store).run()
    finally:
        lock.release()
    failed = "".join(f"; {fmid} failed: {err}" for fmid, err in result.failed.items())
    return (
        f"refresh: {result.changed} record(s) changed after export, "
        f"{len(result.new_versions)} new version(s){failed}"
    )
