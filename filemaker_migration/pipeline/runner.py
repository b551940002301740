"""The import run: the stages (stages.py) wired with threads and bounded queues.

    producer      (the calling thread) the Pager: pages unexported records,
                  registers those to work on and queues them
    N fetchers    the Chooser: download the best container and check it
    N finishers   the Storer, Committer and WriteBack: S3, the database,
                  FileMaker

The queues between the stages are bounded, so paging never runs far ahead and
memory stays flat whatever the number of records, while N downloads stay in
flight. A dry run is the same wiring with a sink that predicts instead of
keeping a ledger (sinks.py); it never reaches the finishers.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from pathlib import Path

from django.db import connections
from django.utils import timezone

from filemaker_migration import decode_budget
from filemaker_migration import ledger
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import FieldMeta
from filemaker_migration.dataapi import TransferLimitError
from filemaker_migration.layout import layout_readiness
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import RunStatus
from filemaker_migration.models import State
from filemaker_migration.pipeline.accounting import Budget
from filemaker_migration.pipeline.accounting import ImportOptions
from filemaker_migration.pipeline.accounting import ImportResult
from filemaker_migration.pipeline.accounting import Tripwire
from filemaker_migration.pipeline.outcomes import Outcomes
from filemaker_migration.pipeline.outcomes import outcome_of
from filemaker_migration.pipeline.outcomes import success_of
from filemaker_migration.pipeline.progress import Progress
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.report import ReportWriter
from filemaker_migration.pipeline.select import Chosen
from filemaker_migration.pipeline.sinks import LedgerSink
from filemaker_migration.pipeline.sinks import PredictingSink
from filemaker_migration.pipeline.sinks import Sink
from filemaker_migration.pipeline.sinks import Work
from filemaker_migration.pipeline.stages import TRANSFER_LIMIT
from filemaker_migration.pipeline.stages import Chooser
from filemaker_migration.pipeline.stages import Committer
from filemaker_migration.pipeline.stages import Pager
from filemaker_migration.pipeline.stages import Storer
from filemaker_migration.pipeline.stages import WriteBack
from filemaker_migration.runlock import RunLockHandle
from filemaker_migration.s3store import ObjectStore
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
        self.fm = fm
        self.fields = fm.image_fields
        self.client = client
        self.store = store
        self.progress = progress
        self.report_dir = report_dir
        self.target = target if target is not None else get_target()
        self.budget = Budget(options.limit)
        self.tripwire = Tripwire()
        self.stop = threading.Event()
        self.halted = ""  # FileMaker's 953: why the run stopped
        self.run: ImportRun | None = None
        self.layout_fields: dict[str, FieldMeta] = {}

    # -- the run ---------------------------------------------------------------

    def execute(self) -> ImportResult:
        started = time.monotonic()
        # One budget for the whole process: every worker's decode reserves
        # from it (decode_budget.py), so it is set before any worker starts.
        decode_budget.set_up_process(self.fm.decode_budget_megapixels)
        lock = None
        sink: Sink = PredictingSink()
        if not self.options.dry_run:
            self.run = ImportRun.objects.create(options=self.options.as_json())
            try:
                lock = RunLockHandle(LOCK_NAME, self.run)
            except Exception:
                self.run.delete()
                raise
            lock.start_heartbeat()
            sink = LedgerSink(self.run)
        outcomes = Outcomes(ReportWriter(self._report_path()), self.progress)
        # str(): the value ("interrupted"), a plain str for the report.
        status = str(RunStatus.INTERRUPTED)
        try:
            self._check_layout()
            try:
                if isinstance(sink, LedgerSink):
                    self._finish_marked_entries(sink, outcomes)
                self._process_all(sink, outcomes)
            except TransferLimitError as exc:
                # Met while paging: the records taken up were finished.
                self._halt(str(exc))
            failed = outcomes.tally.outcomes["failed"]
            status = str(RunStatus.FAILED if failed else RunStatus.COMPLETED)
        finally:
            seconds = time.monotonic() - started
            result = self._result(status, seconds, outcomes)
            if lock is not None:
                lock.release()
        return result

    def _report_path(self) -> Path:
        if self.options.report_path:
            return Path(self.options.report_path)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        name = f"dry-run-{stamp}" if self.run is None else f"run-{self.run.pk}"
        return self.report_dir / f"import-{name}.json"

    def _check_layout(self) -> None:
        self.layout_fields = self.client.layout_fields(self.fm.layout)
        readiness = layout_readiness(self.layout_fields, self.fields)
        if not readiness.ready:
            raise ImportAborted(
                f"layout {self.fm.layout!r} lacks field(s): "
                f"{', '.join(readiness.missing_required)}; place them on the layout "
                "or set FM_FIELDS (see README.md, Preparing FileMaker)"
            )

    def _finish_marked_entries(self, sink: LedgerSink, outcomes: Outcomes) -> None:
        """Entries a crash left after FileMaker was told, but before the ledger was."""
        unfinished = LedgerEntry.objects.filter(
            persisted_at__isnull=False, exported_at__isnull=True
        ).exclude(state__in=(State.IMPORTED, State.IMPORTED_UNLINKED))
        for entry in unfinished.iterator():
            record = self.client.get_record(self.fm.layout, entry.record_id)
            if record.get(self.fields.export_date):
                ledger.record_exported(entry, mod_id=record.mod_id)
                outcome = success_of(entry, batch_created=False)
                outcome.detail = "finished from an earlier run's crash"
                outcomes.finish(outcome)

    def _process_all(self, sink: Sink, outcomes: Outcomes) -> None:
        """Pager -> choosers (download, check) -> finishers (S3, DB, FileMaker).

        Each stage has `workers` threads, joined by bounded queues: a fetcher
        hands its checked bytes on and starts the next download at once, so
        `workers` downloads stay in flight while earlier records are being
        uploaded, committed and marked.
        """
        n = self.options.workers
        work: queue.Queue[Work | None] = queue.Queue(maxsize=n * 2)
        fetched: queue.Queue[tuple[Work, Chosen | None] | None] = queue.Queue(maxsize=n)
        chooser = Chooser(
            self.client,
            self.fm.layout,
            self.fields,
            self.options,
            sink,
            self.store.settings.key_prefix,
        )
        finish = self._finisher(sink)

        def choose_loop() -> None:
            while (item := work.get()) is not None:
                self._guarded(
                    item,
                    sink,
                    outcomes,
                    lambda w: chooser.run(w, lambda w2, c: fetched.put((w2, c))),
                )

        def finish_loop() -> None:
            while (item := fetched.get()) is not None:
                held, chosen = item
                try:
                    step = functools.partial(finish, chosen=chosen)
                    self._guarded(held, sink, outcomes, step)
                finally:
                    if chosen is not None:
                        chosen.close()

        fetchers = self._threads("fetch", n, choose_loop)
        finishers = self._threads("finish", n, finish_loop)
        pager = Pager(
            self.client,
            self.fm.layout,
            self.fields,
            self.options,
            self.target,
            sink,
            outcomes,
            self.budget,
            self.stop,
        )
        try:
            pager.run(work.put, self.progress)
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

    def _finisher(self, sink: Sink):
        """Store (unless done before), commit the rows, tell FileMaker."""
        storer = Storer(self.store, sink)
        committer = Committer(self.target, sink)
        write_back = WriteBack(
            self.client, self.fm.layout, self.fields, self.layout_fields, sink
        )

        def finish(work: Work, chosen: Chosen | None) -> RecordOutcome:
            upload: ledger.Upload | None = None
            if chosen is not None:
                stored = storer.run(work, chosen)
                if isinstance(stored, RecordOutcome):
                    return stored
                upload = stored
            created = committer.run(work, upload)
            if isinstance(created, RecordOutcome):
                return created
            failed = write_back.run(work)
            if failed is not None:
                return failed
            assert work.entry is not None
            return success_of(work.entry, batch_created=created)

        return finish

    @staticmethod
    def _threads(name: str, count: int, loop) -> list[threading.Thread]:
        def target() -> None:
            try:
                loop()
            finally:
                connections.close_all()  # each thread's own connection

        threads = [
            threading.Thread(target=target, name=f"import-{name}-{i}")
            for i in range(count)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _guarded(self, work: Work, sink: Sink, outcomes: Outcomes, step) -> None:
        """Run one stage of a record; settle the record unless it was handed on.

        An exception here is a bug, not a data problem: it is recorded against
        this record and the run goes on (and ends "failed", saying why).
        """
        outcome: RecordOutcome | None = None
        try:
            outcome = step(work)
        except Exception as exc:
            logger.exception("record %s: unexpected error", work.src.filemaker_id)
            outcome = outcome_of(work.src, "failed", "unexpected_error", repr(exc))
            sink.failed(work, "unexpected_error", repr(exc), None)
        if outcome is None:
            return  # handed on to the next stage
        outcomes.finish(outcome)
        if outcome.reason == TRANSFER_LIMIT:
            self._halt(outcome.detail)
        if self.tripwire.observe(outcome):
            # Paging stops; the records already taken up are finished.
            self.stop.set()

    def _halt(self, cause: str) -> None:
        """FileMaker's transfer allowance is used up: take up no more records."""
        self.halted = self.halted or cause
        self.stop.set()

    # -- the end ---------------------------------------------------------------

    def _result(self, status: str, seconds: float, outcomes: Outcomes) -> ImportResult:
        tally = outcomes.tally
        totals = dict(tally.outcomes)
        header = {
            "run": {
                "id": self.run.pk if self.run else None,
                "dry_run": self.options.dry_run,
                "status": status,
                "options": self.options.as_json(),
                "layout": self.fm.layout,
                "decode_budget_megapixels": self.fm.decode_budget_megapixels,
                "finished_at": timezone.now().isoformat(timespec="seconds"),
                "seconds": round(seconds, 3),
            },
            "totals": {**totals, "seen": sum(totals.values())},
            "reasons": dict(tally.reasons),
            "container_usage": dict(tally.fields),
            "batches_created": tally.batches,
            "bytes": tally.bytes,
            "stopped_early": self.tripwire.cause,
            "halted": self.halted,
            # What this run received from FileMaker (its transfer allowance).
            "filemaker_transfer": self.client.transfer.as_dict(),
        }
        path = outcomes.report.finish(header)
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
            causes=dict(tally.causes),
            stopped_early=self.tripwire.cause,
            halted=self.halted,
            filemaker_bytes=self.client.transfer.total,
            dry_run=self.options.dry_run,
            limit=self.options.limit,
        )
