"""Three-way reconciliation of FileMaker, the database and S3.

For every record FileMaker or the ledger says is exported, each side must
agree with the others:

    FileMaker   NexusExportDate set exactly where the ledger says imported or
                imported_unlinked; receipts (where the layout has them) name
                the ledger's key and SHA-256; the record's modId is the one
                the ledger noted after the write-back (else it changed after
                export)
    database    an image row (read through the target) per imported entry,
                with the ledger's key, size and SHA-256 where the clinic's
                table keeps them; no image row under the key prefix without a
                ledger entry; every count an imported batch keeps of its
                images (the target's counters, an image_count of the app's
                own) equal to its image rows
    S3          the object at the ledger's key, with S3's stored SHA-256 and
                size equal to the ledger's (with deep=True, the bytes read back
                from S3 and from FileMaker and hashed); no object under the
                prefix that no ledger entry or version row accounts for

Read-only. The result is data (findings by category); writing it as JSON or
CSV and the verdict line are the command's business.
"""

from __future__ import annotations

import hashlib
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.dataapi import Record
from filemaker_migration.fields import ImageFields
from filemaker_migration.keys import derivative_keys
from filemaker_migration.models import EXPORTED_STATES
from filemaker_migration.models import ImageVersion
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.operations.findings import CHANGED_AFTER_EXPORT
from filemaker_migration.operations.findings import DIFFERING
from filemaker_migration.operations.findings import MATCHED
from filemaker_migration.operations.findings import MISSING_IN_DATABASE
from filemaker_migration.operations.findings import MISSING_IN_FILEMAKER
from filemaker_migration.operations.findings import MISSING_IN_S3
from filemaker_migration.operations.findings import ORPHANED
from filemaker_migration.operations.findings import WRONG_COUNT
from filemaker_migration.operations.findings import Finding
from filemaker_migration.operations.findings import Verification
from filemaker_migration.operations.records import iter_records
from filemaker_migration.s3store import ObjectInfo
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError
from filemaker_migration.targets import ImageRow
from filemaker_migration.targets import Target
from filemaker_migration.targets import get_target


@dataclass
class Verifier:
    client: DataAPIClient
    layout: str
    fields: ImageFields
    store: ObjectStore
    _: KW_ONLY
    deep: bool = False
    workers: int = 8
    target: Target = field(default_factory=get_target)

    def run(self) -> Verification:
        result = Verification(deep=self.deep)
        layout_fields = self.client.layout_fields(self.layout)
        self.receipts = [
            (name, attr)
            for name, attr in (
                (self.fields.receipt_key, "s3_key"),
                (self.fields.receipt_sha256, "sha256"),
            )
            if name in layout_fields
        ]
        records = {r.record_id: r for r in iter_records(self.client, self.layout)}
        entries = {e.record_id: e for e in LedgerEntry.objects.all()}
        prefix = self.store.settings.key_prefix + "/"
        # The clinic's image rows that point into the migration's prefix (an
        # app's own uploads elsewhere are none of verify's business).
        self.images = {
            row.ref: row
            for row in self.target.images()
            if row.s3_key.startswith(prefix)
        }
        self.images_by_id = {
            row.filemaker_id.upper(): row
            for row in self.images.values()
            if row.filemaker_id
        }
        self.objects = {o.key: o for o in self.store.list_keys(prefix)}
        result.objects = len(self.objects)

        exported_ids = sorted(
            {rid for rid, r in records.items() if self._marked(r)}
            | {rid for rid, e in entries.items() if e.state in EXPORTED_STATES},
            key=_natural,
        )
        result.exported_records = len(exported_ids)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            per_record = pool.map(
                lambda rid: self._check_record(rid, records.get(rid), entries.get(rid)),
                exported_ids,
            )
            for findings in per_record:
                result.findings.extend(findings)
        result.findings.extend(self._check_versions())
        result.findings.extend(self._check_counters())
        result.findings.extend(self._orphans(entries))
        result.filemaker_bytes = self.client.transfer.total
        return result

    # -- one exported record ---------------------------------------------------

    def _marked(self, record: Record) -> bool:
        return bool(str(record.get(self.fields.export_date, "")).strip())

    def _check_record(
        self, record_id: str, record: Record | None, entry: LedgerEntry | None
    ) -> list[Finding]:
        exported = entry is not None and entry.state in EXPORTED_STATES
        fmid = entry.filemaker_id if entry else str(record.get(self.fields.id, ""))
        key = entry.s3_key if entry else ""

        def finding(category: str, side: str, detail: str) -> Finding:
            return Finding(category, side, record_id, fmid, key, detail)

        found: list[Finding] = []
        if record is None:
            found.append(
                finding(MISSING_IN_FILEMAKER, "filemaker", "record not in FileMaker")
            )
        elif not self._marked(record):
            found.append(
                finding(
                    MISSING_IN_FILEMAKER,
                    "filemaker",
                    f"{self.fields.export_date} is empty but the ledger says "
                    f"{entry.state if entry else '?'}",
                )
            )
        if not exported:
            state = entry.state if entry else "nothing"
            found.append(
                finding(
                    MISSING_IN_DATABASE,
                    "database",
                    f"{self.fields.export_date} is set but the ledger says {state}",
                )
            )
            return found
        assert entry is not None
        found.extend(finding(*f) for f in self._check_database(entry))
        found.extend(finding(*f) for f in self._check_object(entry))
        if record is not None and self._marked(record):
            found.extend(finding(*f) for f in self._check_filemaker(entry, record))
        return found or [finding(MATCHED, "", "")]

    def _row_of(self, entry: LedgerEntry) -> ImageRow | None:
        if entry.image_ref:
            return self.images.get(entry.image_ref)
        return self.images_by_id.get(entry.filemaker_id)

    def _check_database(self, entry: LedgerEntry) -> list[tuple[str, str, str]]:
        image = self._row_of(entry)
        if entry.state == State.IMPORTED_UNLINKED:
            if image is not None:
                return [(DIFFERING, "database", "unlinked, yet an image row exists")]
            return []
        if image is None:
            return [(MISSING_IN_DATABASE, "database", "no image row")]
        found = []
        for name, have, want in (
            ("s3_key", image.s3_key, entry.s3_key),
            ("sha256", image.sha256, entry.sha256),
            ("size", image.size, entry.size),
        ):
            # None: the clinic's table keeps no such column (ledger only).
            if have is not None and have != want:
                found.append(
                    (DIFFERING, "database", f"image {name} {have} != ledger {want}")
                )
        return found

    def _check_object(self, entry: LedgerEntry) -> list[tuple[str, str, str]]:
        if entry.s3_key not in self.objects:
            return [(MISSING_IN_S3, "s3", "no object at the ledger's key")]
        try:
            info = self.store.head(entry.s3_key)
        except StoreError as exc:
            return [(MISSING_IN_S3, "s3", str(exc))]
        if info is None:
            return [(MISSING_IN_S3, "s3", "no object at the ledger's key")]
        found = _compare_object(info, entry.sha256, entry.size)
        if self.deep and not found:
            actual = hashlib.sha256(self.store.read(entry.s3_key)).hexdigest()
            if actual != entry.sha256:
                found.append(
                    (DIFFERING, "s3", f"bytes hash to {actual}, not {entry.sha256}")
                )
        return found

    def _check_filemaker(
        self, entry: LedgerEntry, record: Record
    ) -> list[tuple[str, str, str]]:
        found = []
        for name, attr in self.receipts:
            have = str(record.get(name, ""))
            want = getattr(entry, attr)
            if have != want:
                found.append(
                    (DIFFERING, "filemaker", f"{name} {have!r} != ledger {want!r}")
                )
        if entry.exported_mod_id and record.mod_id != entry.exported_mod_id:
            # modId, not the modification timestamp: FileMaker moves the
            # timestamp on our own write-back too, and the Data API only hands
            # back the new modId, so the modId is what the ledger can compare.
            found.append(
                (
                    CHANGED_AFTER_EXPORT,
                    "filemaker",
                    f"modId {record.mod_id}, exported at {entry.exported_mod_id}",
                )
            )
        elif self.deep:
            found.extend(self._check_source_bytes(entry, record))
        return found

    def _check_source_bytes(
        self, entry: LedgerEntry, record: Record
    ) -> list[tuple[str, str, str]]:
        url = str(record.get(entry.container_field, ""))
        if not url:
            return [(DIFFERING, "filemaker", f"{entry.container_field} is now empty")]
        with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as sink:
            try:
                download = self.client.download_container(
                    url, sink, max_bytes=1024 * 1024 * 1024
                )
            except DataAPIError as exc:
                return [(DIFFERING, "filemaker", f"download failed: {exc}")]
        if download.sha256 != entry.sha256:
            return [
                (
                    DIFFERING,
                    "filemaker",
                    f"{entry.container_field} hashes to {download.sha256}",
                )
            ]
        return []

    # -- history and leftovers -------------------------------------------------

    def _check_versions(self) -> list[Finding]:
        found = []
        for version in ImageVersion.objects.all():
            fmid = str(version.filemaker_id).upper()
            info = self.store.head(version.s3_key)
            if info is None:
                found.append(
                    Finding(
                        MISSING_IN_S3,
                        "s3",
                        filemaker_id=fmid,
                        s3_key=version.s3_key,
                        detail=f"version {version.version} object missing",
                    )
                )
                continue
            for category, side, detail in _compare_object(
                info, version.sha256, version.file_size
            ):
                found.append(Finding(category, side, "", fmid, version.s3_key, detail))
        return found

    def _check_counters(self) -> list[Finding]:
        return [
            Finding(
                WRONG_COUNT,
                "database",
                detail=(
                    f"batch {batch.ref}: {counter} is {stored}, "
                    f"its image rows are {batch.image_count}"
                ),
            )
            for batch in self.target.batches()
            for counter, stored in sorted(batch.counters.items())
            if stored != batch.image_count
        ]

    def _orphans(self, entries: dict[str, LedgerEntry]) -> list[Finding]:
        referenced = {e.s3_key for e in entries.values() if e.s3_key}
        referenced.update(ImageVersion.objects.values_list("s3_key", flat=True))
        # An original's JPEG derivatives live beside it.
        for key in list(referenced):
            referenced.update(derivative_keys(key))
        found = [
            Finding(ORPHANED, "s3", s3_key=key, detail="no ledger entry has this key")
            for key in sorted(set(self.objects) - referenced)
        ]
        ledgered = {e.image_ref for e in entries.values() if e.image_ref}
        for image in sorted(self.images.values(), key=lambda row: row.s3_key):
            if image.ref not in ledgered:
                found.append(
                    Finding(
                        ORPHANED,
                        "database",
                        filemaker_id=image.filemaker_id or "",
                        s3_key=image.s3_key,
                        detail="image row with no imported ledger entry",
                    )
                )
        return found


def _compare_object(
    info: ObjectInfo, sha256: str, size: int | None
) -> list[tuple[str, str, str]]:
    found = []
    if info.sha256 != sha256:
        stored = info.sha256 or "none stored"
        found.append((DIFFERING, "s3", f"S3 SHA-256 {stored} != ledger {sha256}"))
    if size is not None and info.size != size:
        found.append((DIFFERING, "s3", f"S3 size {info.size} != ledger {size}"))
    return found


def _natural(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (0, record_id)
