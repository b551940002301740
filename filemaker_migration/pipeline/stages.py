"""The import's steps, in the order a record meets them.

    Pager       page unexported records by recid; settle those that need no
                download (invalid or duplicate id, unchanged since skipped);
                register the rest and hand them on
    Chooser     download the best container and check its bytes
    Storer      put the original (and the gallery's JPEGs) in S3, create-only
    Committer   the batch, the image row and the ledger, in one transaction
    WriteBack   tell FileMaker (NexusExportDate and receipts)

Per record the order of effects is fixed (S3, then the database, then
FileMaker) and every step is idempotent, so a crash anywhere is repaired by
running again. Each step returns the record's outcome when it settles the
record, or hands it on; the runner (runner.py) only wires them with threads
and queues.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError

from filemaker_migration import keys
from filemaker_migration import ledger
from filemaker_migration.crashpoints import crashpoint
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.dataapi import FieldMeta
from filemaker_migration.dataapi import TransferLimitError
from filemaker_migration.derivative_store import store_made
from filemaker_migration.fields import ImageFields
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from filemaker_migration.pipeline.accounting import Budget
from filemaker_migration.pipeline.accounting import ImportOptions
from filemaker_migration.pipeline.cpu import part
from filemaker_migration.pipeline.mark import mark_exported
from filemaker_migration.pipeline.outcomes import Outcomes
from filemaker_migration.pipeline.outcomes import error_text
from filemaker_migration.pipeline.outcomes import failure_of
from filemaker_migration.pipeline.outcomes import outcome_of
from filemaker_migration.pipeline.persist import facts_from_filemaker
from filemaker_migration.pipeline.persist import persist
from filemaker_migration.pipeline.progress import Progress
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.select import ChecksumMismatchError
from filemaker_migration.pipeline.select import Chosen
from filemaker_migration.pipeline.select import NoUsableImageError
from filemaker_migration.pipeline.select import choose_container
from filemaker_migration.pipeline.sinks import Sink
from filemaker_migration.pipeline.sinks import Work
from filemaker_migration.s3store import ObjectConflictError
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError
from filemaker_migration.source import SourceRecord
from filemaker_migration.source import iter_unexported
from filemaker_migration.source import iter_without_recid
from filemaker_migration.source import parse_record
from filemaker_migration.targets import Refusal
from filemaker_migration.targets import RowRefusedError
from filemaker_migration.targets import Target


def object_key(prefix: str, src: SourceRecord, patient: str | None, ext: str) -> str:
    """Where a record's original goes: its patient's visit, or unlinked."""
    assert src.filemaker_id is not None
    if patient is None:
        return keys.unlinked_key(prefix, src.image_type, src.filemaker_id, ext)
    return keys.linked_key(prefix, patient, src.image_date, src.filemaker_id, ext)


def duplicate_detail(first: str) -> str:
    return (
        f"FileMaker record {first} has the same id and holds it; give this "
        "record an id of its own in FileMaker, then run the import again "
        "(docs/run-book.md, Duplicate FileMaker ids)"
    )


def refusal_detail(refusal: Refusal, fields: ImageFields | None) -> str:
    """A refusal, naming the FileMaker field the value came from (no value)."""
    source = None
    if fields is not None:
        source = {
            "filemaker_id": fields.id,
            "image_type": fields.type,
            "image_date": fields.date,
            "original_filename": fields.filename,
        }.get(refusal.fact)
    origin = f"FileMaker's {source!r}" if source else f"the image's {refusal.fact}"
    return f"{origin} into {refusal}"


def _record_order(record_id: str) -> tuple[int, str]:
    return (int(record_id) if record_id.isdigit() else 0, record_id)


# A record that met FileMaker's 953 (transfer allowance used up): the run stops.
TRANSFER_LIMIT = "filemaker_transfer_limit"


def fail(
    sink: Sink, work: Work, reason: str, exc: BaseException, tried: list | None = None
) -> RecordOutcome:
    if isinstance(exc, TransferLimitError):
        reason = TRANSFER_LIMIT
    sink.failed(work, reason, error_text(exc), tried)
    return failure_of(work.src, reason, exc, tried)


@dataclass
class Pager:
    client: DataAPIClient
    layout: str
    fields: ImageFields
    options: ImportOptions
    target: Target
    sink: Sink
    outcomes: Outcomes
    budget: Budget
    stop: threading.Event

    def run(self, hand_on: Callable[[Work], None], progress: Progress) -> None:
        with part("page"):
            self._run(hand_on, progress)

    def _run(self, hand_on: Callable[[Work], None], progress: Progress) -> None:
        started = False
        pages = iter_unexported(
            self.client, self.layout, self.fields, page_size=self.options.page_size
        )
        for records, found in pages:
            if not started:
                limit = self.options.limit
                progress.start(min(found, limit) if limit else found)
                started = True
            sources = [self._parse(record) for record in records]
            # What the ledger and the clinic know of this page: three
            # queries, not three a record.
            known = ledger.entries_for(sources)
            holders = ledger.holders_of(sources)
            patients = self.target.patients_by_contact(s.contact_id for s in sources)
            for src in sources:
                if self.stop.is_set():
                    return
                previous = known.get(src.record_id)
                if self._settled_without_work(src, previous, holders):
                    continue
                if not self.budget.acquire():
                    return
                entry = self.sink.register(src, previous)
                hand_on(Work(src, entry, patients.get(src.contact_id.upper())))
        if not started:
            progress.start(0)
        if self.options.limit is None:
            for record in iter_without_recid(self.client, self.layout, self.fields):
                self._settle(
                    self._parse(record),
                    "no_recid",
                    "the recid field is empty, so the record cannot be paged",
                )

    def _parse(self, record: Any) -> SourceRecord:
        return parse_record(
            record, self.fields, use_thumbnail=self.options.use_thumbnail
        )

    def _settled_without_work(
        self,
        src: SourceRecord,
        previous: LedgerEntry | None,
        holders: dict[str, set[str]],
    ) -> bool:
        """Outcomes decided from the record alone, before any download."""
        if src.filemaker_id is None:
            self._settle(
                src,
                "invalid_filemaker_id",
                "the id field is not a UUID; nothing reaches S3 unvalidated",
            )
            return True
        if (
            previous is not None
            and previous.state == State.SKIPPED
            and previous.mod_id == src.mod_id
            and previous.reason not in ledger.RECHECKED_SKIPS
        ):
            # Unchanged since it was found to hold no usable image: say so again
            # without downloading it again (a second run changes nothing).
            detail = f"unchanged since run {previous.run_id}: {previous.detail}"
            self.outcomes.finish(outcome_of(src, "skipped", previous.reason, detail))
            return True
        refused = self.target.refusal(facts_from_filemaker(src))
        if refused is not None:
            # Parked before any download, and looked at again on every run.
            detail = refusal_detail(refused, self.fields)
            self._settle(src, ledger.ROW_REFUSED, detail)
            return True
        claimed = holders.setdefault(src.filemaker_id, set())
        first = self.sink.planned(src) or min(
            claimed - {src.record_id}, key=_record_order, default=None
        )
        if first is not None:
            # Parked, not lost: looked at again on every run (RECHECKED_SKIPS),
            # so once this record has an id of its own it is imported.
            self._settle(src, ledger.DUPLICATE_ID, duplicate_detail(first))
            return True
        # This record holds the id from now on: for the rest of the page and
        # the rest of the run.
        claimed.add(src.record_id)
        self.sink.claim(src)
        return False

    def _settle(self, src: SourceRecord, reason: str, detail: str) -> None:
        self.sink.settle(src, reason, detail)
        self.outcomes.finish(outcome_of(src, "skipped", reason, detail))


@dataclass
class Chooser:
    client: DataAPIClient
    layout: str
    fields: ImageFields
    options: ImportOptions
    sink: Sink
    key_prefix: str

    def run(
        self, work: Work, hand_on: Callable[[Work, Chosen | None], None]
    ) -> RecordOutcome | None:
        """Download and check (or, resuming, nothing); None when handed on."""
        if not self.sink.needs_download(work):
            hand_on(work, None)  # stored by an earlier run
            return None
        try:
            chosen = choose_container(
                self.client,
                self.layout,
                work.src,
                max_bytes=self.options.max_bytes,
                md5_of=self.fields.md5_of,
                for_gallery=self.sink.for_gallery(work),
            )
        except NoUsableImageError as exc:
            self.sink.skipped(work, exc.reason, exc.detail, exc.tried)
            outcome = outcome_of(work.src, "skipped", exc.reason, exc.detail)
            outcome.fields_tried = exc.tried
            return outcome
        except ChecksumMismatchError as exc:
            return fail(self.sink, work, "md5_mismatch", exc, exc.tried)
        except DataAPIError as exc:
            return fail(self.sink, work, "download_failed", exc)
        crashpoint("after_download")
        key = object_key(
            self.key_prefix, work.src, work.patient, chosen.info.type.extension
        )
        return self.sink.checked(work, chosen, key, hand_on)


@dataclass
class Storer:
    store: ObjectStore
    sink: Sink

    def run(self, work: Work, chosen: Chosen) -> ledger.Upload | RecordOutcome:
        """Store the original (and its gallery JPEGs); the facts, or a failure."""
        key = object_key(
            self.store.settings.key_prefix,
            work.src,
            work.patient,
            chosen.info.type.extension,
        )
        download = chosen.download
        try:
            with part("s3"):
                self.store.put_create_only(
                    key,
                    chosen.body,
                    sha256=download.sha256,
                    content_type=chosen.info.type.content_type,
                )
                derived = ("", "")
                if chosen.derivatives is not None:
                    derived = store_made(self.store, key, chosen.derivatives)
        except ObjectConflictError as exc:
            return fail(self.sink, work, "s3_conflict", exc, chosen.tried)
        except StoreError as exc:
            return fail(self.sink, work, "s3_put_failed", exc, chosen.tried)
        crashpoint("after_upload")
        return ledger.Upload(
            s3_key=key,
            sha256=download.sha256,
            size=download.size,
            content_type=chosen.info.type.content_type,
            width=chosen.info.width,
            height=chosen.info.height,
            container_field=chosen.field,
            fields_tried=chosen.tried,
            patient_ref=work.patient or "",
            thumbnail_key=derived[0],
            display_key=derived[1],
        )


@dataclass
class Committer:
    target: Target
    sink: Sink

    def run(self, work: Work, upload: ledger.Upload | None) -> bool | RecordOutcome:
        """The rows (unless committed before); whether a batch was created."""
        entry = work.entry
        assert entry is not None
        if upload is None and ledger.next_step(entry) != ledger.STEP_PERSIST:
            return False
        try:
            with part("database"):
                created = persist(self.target, entry, upload)
        except RowRefusedError as exc:
            # A fact known only now (the key, the type) that the model refuses:
            # stored, no row; the detail says what to change.
            if upload is not None:
                ledger.record_upload(entry, upload)
            exc.args = (refusal_detail(exc.refusal, None),)
            return fail(self.sink, work, ledger.ROW_REFUSED, exc)
        except DatabaseError as exc:
            if upload is not None:
                # Keep the fact that the object is stored, if the database
                # takes this write; the rerun commits the rows.
                with contextlib.suppress(DatabaseError):
                    ledger.record_upload(entry, upload)
            return fail(self.sink, work, "database_write_failed", exc)
        crashpoint("after_persist")
        return created


@dataclass
class WriteBack:
    client: DataAPIClient
    layout: str
    fields: ImageFields
    layout_fields: dict[str, FieldMeta]
    sink: Sink

    def run(self, work: Work) -> RecordOutcome | None:
        """Tell FileMaker (unless told before); None when done."""
        entry = work.entry
        assert entry is not None
        if entry.exported_at is not None:
            return None
        with part("write_back"):
            try:
                mod_id = mark_exported(
                    self.client, self.layout, entry, self.fields, self.layout_fields
                )
            except DataAPIError as exc:
                return fail(self.sink, work, "filemaker_writeback_failed", exc)
            crashpoint("after_mark")
            ledger.record_exported(entry, mod_id=mod_id)
        return None
