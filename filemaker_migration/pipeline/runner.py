"""The import run: page FileMaker, fetch and check, then store and record.

    producer      (the calling thread) pages unexported records by recid,
                  looks each page up on the ledger, registers the records to
                  work on and queues them
    N fetchers    download the best container and check its bytes
    N finishers   upload to S3 (with the gallery's thumbnail), commit the
                  batch, Image and ledger rows, tell FileMaker

The queues between the stages are bounded, so paging never runs far ahead and
memory stays flat whatever the number of records, while N downloads stay in
flight. Per record the order of effects is fixed (S3, then the database, then
FileMaker) and every step is idempotent, so a crash anywhere is repaired by
running again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
import time
from pathlib import Path

from django.db import DatabaseError
from django.db import connections
from django.utils import timezone

from filemaker_migration import keys
from filemaker_migration import ledger
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.crashpoints import crashpoint
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.dataapi import FieldMeta
from filemaker_migration.derivative_store import store_made
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import RunStatus
from filemaker_migration.models import State
from filemaker_migration.pipeline.accounting import Budget
from filemaker_migration.pipeline.accounting import ImportOptions
from filemaker_migration.pipeline.accounting import ImportResult
from filemaker_migration.pipeline.accounting import Tally
from filemaker_migration.pipeline.mark import mark_exported
from filemaker_migration.pipeline.persist import known_batch
from filemaker_migration.pipeline.persist import persist
from filemaker_migration.pipeline.progress import Progress
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.report import ReportWriter
from filemaker_migration.pipeline.select import ChecksumMismatchError
from filemaker_migration.pipeline.select import Chosen
from filemaker_migration.pipeline.select import NoUsableImageError
from filemaker_migration.pipeline.select import choose_container
from filemaker_migration.runlock import RunLockHandle
from filemaker_migration.s3store import ObjectConflictError
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError
from filemaker_migration.source import SourceRecord
from filemaker_migration.source import iter_unexported
from filemaker_migration.source import iter_without_recid
from filemaker_migration.source import parse_record
from filemaker_migration.targets import Target
from filemaker_migration.targets import get_target

logger = logging.getLogger(__name__)

LOCK_NAME = "import_filemaker_images"


class ImportAborted(Exception):
    """The run could not start or continue (a setting, the layout, the lock)."""


class ImportRunner:
    def __init__(
        self,
        options: ImportOptions,
        fm: FileMakerSettings,
        *,
        client: DataAPIClient,
        store: ObjectStore,
        progress: Progress,
        report_dir: Path,
        target: Target | None = None,
    ) -> None:
        self.options = options
        self.target = target if target is not None else get_target()
        self.fm = fm
        self.fields = fm.image_fields
        self.client = client
        self.store = store
        self.progress = progress
        self.report_dir = report_dir
        self.tally = Tally()
        self.budget = Budget(options.limit)
        self.stop = threading.Event()
        self.run: ImportRun | None = None
        self.layout_fields: dict[str, FieldMeta] = {}
        # Dry runs write nothing, so what they would create is tracked here
        # (ids by the producer alone; batches by the fetchers, under the lock).
        self._planned_ids: set[str] = set()
        self._planned_batches: set[tuple[str, dt.date | None]] = set()
        self._planned_lock = threading.Lock()

    # -- the run ---------------------------------------------------------------

    def execute(self) -> ImportResult:
        started = time.monotonic()
        lock = None
        if not self.options.dry_run:
            self.run = ImportRun.objects.create(options=self.options.as_json())
            try:
                lock = RunLockHandle(LOCK_NAME, self.run)
            except Exception:
                self.run.delete()
                raise
            lock.start_heartbeat()
        report = ReportWriter(self._report_path())
        status = RunStatus.INTERRUPTED
        try:
            self._check_layout()
            if not self.options.dry_run:
                self._finish_marked_entries(report)
            self._process_all(report)
            status = (
                RunStatus.FAILED
                if self.tally.outcomes["failed"]
                else RunStatus.COMPLETED
            )
        finally:
            seconds = time.monotonic() - started
            result = self._result(status, seconds, report)
            if lock is not None:
                lock.release()
        return result

    def _report_path(self) -> Path:
        if self.options.report_path:
            return Path(self.options.report_path)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        name = f"dry-run-{stamp}" if self.options.dry_run else f"run-{self.run.pk}"
        return self.report_dir / f"import-{name}.json"

    def _check_layout(self) -> None:
        layout = self.fm.layout
        self.layout_fields = self.client.layout_fields(layout)
        f = self.fields
        required = [f.id, f.contact_id, f.date, f.type, f.export_date, f.recid]
        missing = [name for name in required if name not in self.layout_fields]
        containers = [c for c in f.containers if c in self.layout_fields]
        if not containers:
            missing.append(" / ".join(f.containers))
        if missing:
            raise ImportAborted(
                f"layout {layout!r} lacks field(s): {', '.join(missing)}; place them "
                "on the layout or set FM_FIELDS (see README.md, Preparing FileMaker)"
            )

    def _finish_marked_entries(self, report: ReportWriter) -> None:
        """Entries a crash left after FileMaker was told, but before the ledger was."""
        unfinished = LedgerEntry.objects.filter(
            persisted_at__isnull=False, exported_at__isnull=True
        ).exclude(state__in=(State.IMPORTED, State.IMPORTED_UNLINKED))
        for entry in unfinished.iterator():
            record = self.client.get_record(self.fm.layout, entry.record_id)
            if record.get(self.fields.export_date):
                ledger.record_exported(entry, mod_id=record.mod_id)
                outcome = self._success(entry, batch_created=False)
                outcome.detail = "finished from an earlier run's crash"
                self._finish(outcome, report)

    def _process_all(self, report: ReportWriter) -> None:
        """Producer -> fetchers (download, check) -> finishers (S3, DB, FileMaker).

        Each stage has `workers` threads, joined by bounded queues: a fetcher
        hands its checked bytes on and starts the next download at once, so
        `workers` downloads stay in flight while earlier records are being
        uploaded, committed and marked.
        """
        n = self.options.workers
        work: queue.Queue = queue.Queue(maxsize=n * 2)
        fetched: queue.Queue = queue.Queue(maxsize=n)
        fetchers = self._threads("fetch", n, self._fetch_loop, work, fetched, report)
        finishers = self._threads("finish", n, self._finish_loop, fetched, report)
        try:
            self._produce(work, report)
        except BaseException:
            self.stop.set()
            raise
        finally:
            for stage_queue, threads in ((work, fetchers), (fetched, finishers)):
                for _ in threads:
                    stage_queue.put(None)
                for thread in threads:
                    thread.join()
            self.progress.close()

    @staticmethod
    def _threads(name: str, count: int, target, *args) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=target, args=args, name=f"import-{name}-{i}")
            for i in range(count)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _produce(self, work: queue.Queue, report: ReportWriter) -> None:
        started = False
        pages = iter_unexported(
            self.client, self.fm.layout, self.fields, page_size=self.options.page_size
        )
        for records, found in pages:
            if not started:
                self.progress.start(
                    min(found, self.options.limit) if self.options.limit else found
                )
                started = True
            sources = [
                parse_record(r, self.fields, use_thumbnail=self.options.use_thumbnail)
                for r in records
            ]
            # What the ledger and the patients table know of this page: three
            # queries, not three a record.
            known = ledger.entries_for(sources)
            holders = ledger.holders_of(sources)
            patients = self.target.patients_by_contact(
                src.contact_id for src in sources
            )
            for src in sources:
                if self.stop.is_set():
                    return
                previous = known.get(src.record_id)
                if self._settled_without_work(src, previous, holders, report):
                    continue
                if not self.budget.acquire():
                    return
                entry = None
                if not self.options.dry_run:
                    entry = ledger.register(src, self.run, previous)
                    crashpoint("after_register")
                work.put((src, entry, patients.get(src.contact_id.upper())))
        if not started:
            self.progress.start(0)
        if self.options.limit is None:
            for record in iter_without_recid(self.client, self.fm.layout, self.fields):
                src = parse_record(
                    record, self.fields, use_thumbnail=self.options.use_thumbnail
                )
                self._settle(
                    src,
                    report,
                    "skipped",
                    "no_recid",
                    "the recid field is empty, so the record cannot be paged",
                )

    def _settled_without_work(
        self,
        src: SourceRecord,
        previous: LedgerEntry | None,
        holders: dict[str, set[str]],
        report: ReportWriter,
    ) -> bool:
        """Outcomes decided from the record alone, before any download."""
        if src.filemaker_id is None:
            self._settle(
                src,
                report,
                "skipped",
                "invalid_filemaker_id",
                "the id field is not a UUID; nothing reaches S3 unvalidated",
            )
            return True
        if (
            previous is not None
            and previous.state == State.SKIPPED
            and previous.mod_id == src.mod_id
            and previous.reason != ledger.DUPLICATE_ID
        ):
            # Unchanged since it was found to hold no usable image: say so again
            # without downloading it again (a second run changes nothing).
            self._finish(
                self._outcome(
                    src,
                    "skipped",
                    previous.reason,
                    f"unchanged since run {previous.run_id}: {previous.detail}",
                ),
                report,
            )
            return True
        claimed = holders.setdefault(src.filemaker_id, set())
        duplicate = bool(claimed - {src.record_id}) or (
            self.options.dry_run and src.filemaker_id in self._planned_ids
        )
        if duplicate:
            self._settle(
                src,
                report,
                "skipped",
                ledger.DUPLICATE_ID,
                "another FileMaker record has the same id",
            )
            return True
        # This record holds the id from now on: for the rest of the page and,
        # since a dry run writes no ledger, for the rest of a dry run.
        claimed.add(src.record_id)
        if self.options.dry_run:
            self._planned_ids.add(src.filemaker_id)
        return False

    def _settle(
        self,
        src: SourceRecord,
        report: ReportWriter,
        outcome: str,
        reason: str,
        detail: str,
    ) -> None:
        if not self.options.dry_run:
            # Rare (invalid or duplicate ids): a lookup of its own is fine.
            previous = ledger.entries_for([src]).get(src.record_id)
            entry = ledger.register(src, self.run, previous)
            ledger.record_skipped(entry, reason=reason, detail=detail, fields_tried=[])
        self._finish(self._outcome(src, outcome, reason, detail), report)

    # -- one record ------------------------------------------------------------

    def _fetch_loop(
        self, work: queue.Queue, fetched: queue.Queue, report: ReportWriter
    ) -> None:
        try:
            while (item := work.get()) is not None:
                src, entry, patient = item
                self._guarded(src, entry, report, self._fetch, patient, fetched)
        finally:
            connections.close_all()

    def _finish_loop(self, fetched: queue.Queue, report: ReportWriter) -> None:
        try:
            while (item := fetched.get()) is not None:
                src, entry, patient, chosen = item
                try:
                    self._guarded(src, entry, report, self._complete, patient, chosen)
                finally:
                    if chosen is not None:
                        chosen.close()
        finally:
            connections.close_all()

    def _guarded(self, src, entry, report, step, *args) -> None:
        """Run one stage of a record; settle the record unless it was handed on.

        An exception here is a bug, not a data problem: it is recorded against
        this record and the run goes on (and ends "failed", saying why).
        """
        outcome: RecordOutcome | None = None
        try:
            outcome = step(src, entry, *args)
        except Exception as exc:
            logger.exception("record %s: unexpected error", src.filemaker_id)
            outcome = self._outcome(src, "failed", "unexpected_error", repr(exc))
            if entry is not None:
                ledger.record_failed(entry, reason="unexpected_error", error=repr(exc))
        if outcome is None:
            return  # handed on to the next stage
        self.budget.release(outcome.outcome in ("imported", "imported_unlinked"))
        self._finish(outcome, report)

    def _fetch(
        self,
        src: SourceRecord,
        entry: LedgerEntry | None,
        patient: str | None,
        fetched: queue.Queue,
    ) -> RecordOutcome | None:
        """Download and check (or, resuming, nothing); None when handed on."""
        if entry is not None and ledger.next_step(entry) != ledger.STEP_SELECT:
            fetched.put((src, entry, None, None))  # uploaded by an earlier run
            return None
        # Images that get an Image row now get the gallery's JPEGs, made here
        # while the check's pixels are at hand; the finisher stores them.
        for_gallery = entry is not None and patient is not None
        try:
            chosen = choose_container(
                self.client,
                self.fm.layout,
                src,
                max_bytes=self.options.max_bytes,
                md5_of=self.fields.md5_of,
                for_gallery=for_gallery,
            )
        except NoUsableImageError as exc:
            if entry is not None:
                ledger.record_skipped(
                    entry, reason=exc.reason, detail=exc.detail, fields_tried=exc.tried
                )
            outcome = self._outcome(src, "skipped", exc.reason, exc.detail)
            outcome.fields_tried = exc.tried
            return outcome
        except ChecksumMismatchError as exc:
            return self._fail(src, entry, "md5_mismatch", exc, tried=exc.tried)
        except DataAPIError as exc:
            return self._fail(src, entry, "download_failed", exc)
        crashpoint("after_download")
        if entry is None:
            try:
                key = self._key(src, patient, chosen.info.type.extension)
                return self._predict(src, patient, key, chosen)
            finally:
                chosen.close()
        fetched.put((src, entry, patient, chosen))
        return None

    def _complete(
        self,
        src: SourceRecord,
        entry: LedgerEntry,
        patient: str | None,
        chosen: Chosen | None,
    ) -> RecordOutcome:
        """Upload (unless done before), commit the rows, tell FileMaker."""
        upload = None
        if chosen is not None:
            upload = self._upload(src, entry, patient, chosen)
            if isinstance(upload, RecordOutcome):
                return upload
        batch_created = False
        if upload is not None or ledger.next_step(entry) == ledger.STEP_PERSIST:
            try:
                batch_created = persist(self.target, entry, upload)
            except DatabaseError as exc:
                if upload is not None:
                    # Keep the fact that the object is stored, if the
                    # database takes this write; the rerun commits the rows.
                    with contextlib.suppress(DatabaseError):
                        ledger.record_upload(entry, upload)
                return self._fail(src, entry, "database_write_failed", exc)
            crashpoint("after_persist")
        if entry.exported_at is None:
            try:
                mod_id = mark_exported(
                    self.client, self.fm.layout, entry, self.fields, self.layout_fields
                )
            except DataAPIError as exc:
                return self._fail(src, entry, "filemaker_writeback_failed", exc)
            crashpoint("after_mark")
            ledger.record_exported(entry, mod_id=mod_id)
        return self._success(entry, batch_created=batch_created)

    def _upload(
        self,
        src: SourceRecord,
        entry: LedgerEntry,
        patient: str | None,
        chosen: Chosen,
    ) -> ledger.Upload | RecordOutcome:
        """Store the original (and its gallery JPEGs); the facts, or a failure."""
        key = self._key(src, patient, chosen.info.type.extension)
        download = chosen.download
        try:
            self.store.put_create_only(
                key,
                chosen.body,
                sha256=download.sha256,
                content_type=chosen.info.type.content_type,
            )
            # The gallery's thumbnail (and display JPEG when the original
            # cannot serve as one), for images that get an Image row now.
            derived = ("", "")
            if chosen.derivatives is not None:
                derived = store_made(self.store, key, chosen.derivatives)
        except ObjectConflictError as exc:
            return self._fail(src, entry, "s3_conflict", exc, tried=chosen.tried)
        except StoreError as exc:
            return self._fail(src, entry, "s3_put_failed", exc, tried=chosen.tried)
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
            patient_ref=patient or "",
            thumbnail_key=derived[0],
            display_key=derived[1],
        )

    def _key(self, src: SourceRecord, patient: str | None, ext: str) -> str:
        prefix = self.store.settings.key_prefix
        assert src.filemaker_id is not None
        if patient is None:
            return keys.unlinked_key(prefix, src.image_type, src.filemaker_id, ext)
        return keys.linked_key(prefix, patient, src.image_date, src.filemaker_id, ext)

    def _predict(self, src, patient, key, chosen) -> RecordOutcome:
        """What a real run would do with this record (dry run)."""
        batch_created = False
        if patient is not None:
            slot = (patient, src.image_date)
            with self._planned_lock:
                if slot not in self._planned_batches:
                    self._planned_batches.add(slot)
                    batch_created = known_batch(patient, src.image_date) is None
        outcome = self._outcome(
            src, "imported" if patient else "imported_unlinked", "", ""
        )
        outcome.container_field = chosen.field
        outcome.fields_tried = chosen.tried
        outcome.s3_key = key
        outcome.sha256 = chosen.download.sha256
        outcome.size = chosen.download.size
        outcome.content_type = chosen.info.type.content_type
        outcome.batch_created = batch_created
        return outcome

    # -- outcomes --------------------------------------------------------------

    def _outcome(self, src: SourceRecord, outcome: str, reason: str, detail: str):
        return RecordOutcome(
            record_id=src.record_id,
            filemaker_id=src.filemaker_id or src.filemaker_id_raw[:64],
            outcome=outcome,
            reason=reason,
            detail=detail,
        )

    def _fail(
        self, src, entry, reason: str, exc: BaseException, tried=None
    ) -> RecordOutcome:
        error = f"{type(exc).__name__}: {exc}"
        logger.warning(
            "record %s failed: %s (%s)", src.filemaker_id, reason, type(exc).__name__
        )
        if entry is not None:
            ledger.record_failed(entry, reason=reason, error=error, fields_tried=tried)
        outcome = self._outcome(src, "failed", reason, error)
        outcome.fields_tried = tried or []
        return outcome

    def _success(self, entry: LedgerEntry, *, batch_created: bool) -> RecordOutcome:
        return RecordOutcome(
            record_id=entry.record_id,
            filemaker_id=entry.filemaker_id,
            outcome="imported" if entry.image_ref else "imported_unlinked",
            container_field=entry.container_field,
            fields_tried=entry.fields_tried,
            s3_key=entry.s3_key,
            sha256=entry.sha256,
            size=entry.size or 0,
            content_type=entry.content_type,
            batch_created=batch_created,
        )

    def _finish(self, outcome: RecordOutcome, report: ReportWriter) -> None:
        self.tally.add(outcome)
        report.add(outcome)
        self.progress.advance(outcome.outcome)

    def _result(
        self, status: str, seconds: float, report: ReportWriter
    ) -> ImportResult:
        tally = self.tally
        totals = dict(tally.outcomes)
        header = {
            "run": {
                "id": self.run.pk if self.run else None,
                "dry_run": self.options.dry_run,
                "status": status,
                "options": self.options.as_json(),
                "layout": self.fm.layout,
                "finished_at": timezone.now().isoformat(timespec="seconds"),
                "seconds": round(seconds, 3),
            },
            "totals": {**totals, "seen": sum(totals.values())},
            "reasons": dict(tally.reasons),
            "container_usage": dict(tally.fields),
            "batches_created": tally.batches,
            "bytes": tally.bytes,
        }
        path = report.finish(header)
        if self.run is not None:
            self.run.status = status
            self.run.finished_at = timezone.now()
            self.run.totals = header["totals"]
            self.run.container_usage = dict(tally.fields)
            self.run.report_path = str(path)
            self.run.save()
        return ImportResult(
            run_id=self.run.pk if self.run else None,
            totals=totals,
            container_usage=dict(tally.fields),
            batches_created=tally.batches,
            bytes=tally.bytes,
            seconds=seconds,
            report_path=path,
            status=status,
            reasons=dict(tally.reasons),
        )
