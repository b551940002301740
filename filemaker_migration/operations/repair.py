"""Repair what verify found: each finding's fix, planned, then (asked) done.

    missing_in_s3, differing (S3)   the object is fetched again from FileMaker
                                    (the field the ledger chose), its SHA-256
                                    checked against the ledger's and stored
                                    create-only; an object with other bytes at
                                    the key is moved to quarantine first
    orphaned (S3)                   the object is moved to the quarantine
                                    prefix, never deleted
    missing_in_database             the image row is created again through
                                    the target, in its batch
    missing_in_filemaker, differing (FileMaker receipts)
                                    the export mark and receipts are written
                                    to the record again
    wrong_count                     the batch's counters are set to its rows

What it cannot repair it says, with the command that can: a record changed
in FileMaker after its export (`import_filemaker_images --refresh-changed`),
an image row of the clinic's that no ledger entry accounts for (left to the
clinic: the migration never deletes a row it did not make), a record gone
from FileMaker. Quarantine is `<S3_KEY_PREFIX>-quarantine/<the key's rest>`,
outside the prefix verify reads.

A plan is made from a Verification; `run()` without `act` does nothing but
say what it would do (the command's default dry run).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields

from django.db import transaction

from filemaker_migration import ledger
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.fields import ImageFields
from filemaker_migration.keys import quarantine_key
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.operations.findings import CHANGED_AFTER_EXPORT
from filemaker_migration.operations.findings import DIFFERING
from filemaker_migration.operations.findings import MISSING_IN_DATABASE
from filemaker_migration.operations.findings import MISSING_IN_FILEMAKER
from filemaker_migration.operations.findings import MISSING_IN_S3
from filemaker_migration.operations.findings import ORPHANED
from filemaker_migration.operations.findings import WRONG_COUNT
from filemaker_migration.operations.findings import Finding
from filemaker_migration.operations.findings import Verification
from filemaker_migration.pipeline import batch_for
from filemaker_migration.pipeline import image_facts
from filemaker_migration.pipeline import mark_exported
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError
from filemaker_migration.targets import Target
from filemaker_migration.targets import get_target

# Containers re-fetched are spooled to disk past this.
SPOOL_BYTES = 8 * 1024 * 1024
MAX_CONTAINER_BYTES = 1024 * 1024 * 1024

REFRESH = "run import_filemaker_images --refresh-changed"


@dataclass
class Step:
    """One repair: what it is for, what it does, and how it went."""

    category: str
    record_id: str
    s3_key: str
    action: str  # what is (or would be) done, in words
    outcome: str = "planned"  # planned, repaired, failed or not repairable
    detail: str = ""
    run: Callable[[], None] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, str]:
        """Its words, for the repairs report (not the callable)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "run"}


@dataclass
class Repairer:
    client: DataAPIClient
    layout: str
    fields: ImageFields
    store: ObjectStore
    _: KW_ONLY
    target: Target = field(default_factory=get_target)

    def plan(self, verification: Verification) -> list[Step]:
        entries = {
            e.record_id: e
            for e in LedgerEntry.objects.filter(
                record_id__in={f.record_id for f in verification.problems}
            )
        }
        steps: list[Step] = []
        # One repair per object, however many ways it disagreed, and one
        # write-back per record, which mends its mark and receipts at once.
        repaired: set[tuple[str, str]] = set()
        counts = False
        for finding in verification.problems:
            entry = entries.get(finding.record_id) if finding.record_id else None
            if finding.category == WRONG_COUNT:
                counts = True
                continue
            rewrites = finding.category in (MISSING_IN_FILEMAKER, DIFFERING)
            mark = entry if finding.side == "filemaker" and rewrites else None
            if mark is not None or finding.side == "s3":
                once = (finding.side, mark.record_id if mark else finding.s3_key)
                if once in repaired:
                    continue
                repaired.add(once)
            if mark is not None:
                steps.append(self._mark(finding, mark))
            else:
                steps.append(self._step(finding, entry))
        if counts:
            steps.append(
                Step(WRONG_COUNT, "", "", "set each batch's counters to its rows")
            )
            steps[-1].run = self._set_counts
        return steps

    def run(self, steps: list[Step], *, act: bool) -> list[Step]:
        for step in steps:
            if step.run is None or not act:
                continue
            try:
                step.run()
            except (DataAPIError, StoreError, RepairRefused) as exc:
                step.outcome, step.detail = "failed", str(exc)
            else:
                step.outcome = "repaired"
        return steps

    # -- planning ------------------------------------------------------------

    def _step(self, finding: Finding, entry: LedgerEntry | None) -> Step:
        category, key = finding.category, finding.s3_key

        def step(action: str, run: Callable[[], None] | None = None) -> Step:
            made = Step(category, finding.record_id, key, action, run=run)
            if run is None:
                made.outcome = "not repairable"
            return made

        if finding.side == "s3" and category == ORPHANED:
            to = quarantine_key(key, self.store.settings.key_prefix)
            return step(f"move to {to}", lambda: self._quarantine(key))
        if finding.side == "s3" and category in (MISSING_IN_S3, DIFFERING):
            if entry is None or entry.state not in (
                State.IMPORTED,
                State.IMPORTED_UNLINKED,
            ):
                return step("none: no imported ledger entry names this object")
            action = f"fetch {entry.container_field} from FileMaker again, store it"
            if category == DIFFERING:
                action = f"move the object to quarantine, then {action}"
            return step(action, lambda: self._refetch(entry))
        if (
            category == MISSING_IN_DATABASE
            and entry is not None
            and entry.state == State.IMPORTED
        ):
            return step("create the image row again", lambda: self._row(entry))
        if category == CHANGED_AFTER_EXPORT:
            return step(f"none here: {REFRESH}")
        if category == ORPHANED:
            return step("none: the clinic's row is the clinic's to delete")
        return step(f"none: {finding.detail}")

    def _mark(self, finding: Finding, entry: LedgerEntry) -> Step:
        step = Step(
            finding.category,
            entry.record_id,
            entry.s3_key,
            f"write {self.fields.export_date} and the receipts again",
        )
        step.run = lambda: self._write_mark(entry)
        return step

    # -- doing ---------------------------------------------------------------

    def _quarantine(self, key: str) -> None:
        info = self.store.head(key)
        if info is None:
            return  # gone already
        # An object written outside the migration may have no stored
        # SHA-256: its bytes are read and hashed, so the copy is checked too.
        sha256 = info.sha256 or hashlib.sha256(self.store.read(key)).hexdigest()
        self.store.copy(
            key, quarantine_key(key, self.store.settings.key_prefix), sha256=sha256
        )
        self.store.delete(key)

    def _refetch(self, entry: LedgerEntry) -> None:
        existing = self.store.head(entry.s3_key)
        if existing is not None and existing.sha256 == entry.sha256:
            return  # already right
        record = self.client.get_record(self.layout, entry.record_id)
        url = str(record.get(entry.container_field, ""))
        if not url:
            raise RepairRefused(
                f"FileMaker's {entry.container_field} is empty now; {REFRESH}"
            )
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as body:
            download = self.client.download_field(
                self.layout,
                entry.record_id,
                entry.container_field,
                url,
                body,
                max_bytes=MAX_CONTAINER_BYTES,
            )
            if download.sha256 != entry.sha256:
                raise RepairRefused(
                    f"FileMaker's {entry.container_field} no longer holds the "
                    f"bytes the ledger recorded; {REFRESH}"
                )
            if existing is not None:
                self._quarantine(entry.s3_key)
            self.store.put_create_only(
                entry.s3_key,
                body,
                sha256=entry.sha256,
                content_type=entry.content_type or download.content_type,
            )

    def _row(self, entry: LedgerEntry) -> None:
        if self.target.image(entry.image_ref) is not None:
            return  # there already
        with transaction.atomic():
            batch_ref, _created = batch_for(
                self.target, entry.patient_ref, entry.image_date
            )
            image_ref = self.target.create_image(batch_ref, image_facts(entry, entry))
            ledger.record_image_recreated(entry, image_ref=image_ref)

    def _write_mark(self, entry: LedgerEntry) -> None:
        layout_fields = self.client.layout_fields(self.layout)
        mod_id = mark_exported(
            self.client, self.layout, entry, self.fields, layout_fields
        )
        ledger.record_exported(entry, mod_id=mod_id)

    def _set_counts(self) -> None:
        for batch in self.target.batches():
            wrong = {
                name: batch.image_count
                for name, stored in batch.counters.items()
                if stored != batch.image_count
            }
            if not wrong:
                continue
            set_counters = getattr(self.target, "set_counters", None)
            if set_counters is None:  # a target of the clinic's own, without it
                raise RepairRefused("the target cannot set a batch's counters")
            set_counters(batch.ref, wrong)


class RepairRefused(Exception):
    """A repair that would not be right: nothing was changed, and why."""
