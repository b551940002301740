"""The import run: the pager, and the stages after it (wiring.py).

    producer      (the calling thread) the Pager: pages unexported records,
                  registers those to work on and hands them on
    in process    N fetchers and N finishers (wiring.StageThreads)
    --processes   or forked worker processes (workers.py), each with its own
                  threads, which claim the records from the database

A dry run is the same wiring with a sink that predicts instead of keeping a
ledger (sinks.py); it never reaches the finishers, and never forks.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

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
from filemaker_migration.pipeline import claims
from filemaker_migration.pipeline.accounting import Budget
from filemaker_migration.pipeline.accounting import ImportOptions
from filemaker_migration.pipeline.accounting import ImportResult
from filemaker_migration.pipeline.accounting import Tripwire
from filemaker_migration.pipeline.coordinator import SharedRun
from filemaker_migration.pipeline.coordinator import UnfinishedRecords
from filemaker_migration.pipeline.cpu import meter
from filemaker_migration.pipeline.outcomes import Outcomes
from filemaker_migration.pipeline.outcomes import success_of
from filemaker_migration.pipeline.progress import Progress
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.report import ReportWriter
from filemaker_migration.pipeline.sinks import LedgerSink
from filemaker_migration.pipeline.sinks import PredictingSink
from filemaker_migration.pipeline.sinks import Sink
from filemaker_migration.pipeline.stages import TRANSFER_LIMIT
from filemaker_migration.pipeline.stages import Pager
from filemaker_migration.pipeline.wiring import start_stages
from filemaker_migration.pipeline.workers import Worker
from filemaker_migration.pipeline.workers import fork_workers
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
        # With worker processes: each one's share, and what they received.
        self.workers: list[dict[str, object]] = []
        self.workers_filemaker_bytes = 0

    # -- the run ---------------------------------------------------------------

    def execute(self) -> ImportResult:
        started = time.monotonic()
        # One budget for the whole process: every worker's decode reserves
        # from it (decode_budget.py), so it is set before any worker starts.
        decode_budget.set_up_process(self.fm.decode_budget_megapixels)
        meter.reset()
        lock = None
        sink: Sink = PredictingSink()
        children: list = []
        if not self.options.dry_run:
            processes = self.options.processes
            self.run = ImportRun.objects.create(
                options=self.options.as_json(),
                filemaker_limit=(
                    2 * self.options.workers * processes if processes > 1 else None
                ),
            )
            try:
                lock = RunLockHandle(LOCK_NAME, self.run)
            except Exception:
                self.run.delete()
                raise
            claims.forget_other_runs(self.run)
            if processes > 1:
                # Before this process starts any thread of its own.
                children = fork_workers(self.run, processes, self.options)
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
                if children:
                    self._process_with_workers(sink, outcomes, children)
                else:
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
                "or set FM_FIELDS (see docs/run-book.md, Preparing FileMaker)"
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

    def _pager(self, sink: Sink, outcomes: Outcomes) -> Pager:
        return Pager(
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

    def _process_all(self, sink: Sink, outcomes: Outcomes) -> None:
        """Pager -> choosers (download, check) -> finishers (S3, DB, FileMaker)."""
        stages = start_stages(
            client=self.client,
            fm=self.fm,
            options=self.options,
            store=self.store,
            target=self.target,
            layout_fields=self.layout_fields,
            sink=sink,
            settle=lambda _work, outcome: self._settled(outcomes, outcome),
        )
        try:
            self._pager(sink, outcomes).run(stages.put, self.progress)
        except BaseException:
            self.stop.set()
            raise
        finally:
            stages.close()
            self.progress.close()

    def _process_with_workers(
        self, sink: Sink, outcomes: Outcomes, children: list
    ) -> None:
        """The pager offers records in the database; the workers finish them."""
        run = self.run
        assert run is not None
        shared = SharedRun(
            run,
            children,
            ahead=4 * self.options.workers * self.options.processes,
            settle=lambda outcome: self._settled(outcomes, outcome),
            stop=self.stop,
            take_over=lambda: Worker(
                run,
                self.options,
                self.fm,
                self.client,
                self.store,
                own_process=False,
            ).work(),
        )
        shared.start()
        try:
            self._pager(sink, outcomes).run(shared.offer, self.progress)
            shared.paging_done()
        except BaseException:
            shared.abandon()
            self._end_workers(shared)  # this error, not theirs, is the one told
            raise
        if problem := self._end_workers(shared):
            raise problem

    def _end_workers(self, shared: SharedRun) -> BaseException | None:
        try:
            problem = shared.finish()
        finally:
            self.workers = shared.workers
            self.workers_filemaker_bytes = shared.filemaker_bytes
            self.progress.close()
        if isinstance(problem, UnfinishedRecords):
            return ImportAborted(str(problem))
        return problem

    def _settled(self, outcomes: Outcomes, outcome: RecordOutcome) -> None:
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
            "processes": self.options.processes,
            "workers": self.workers,
            "workers_filemaker_bytes": self.workers_filemaker_bytes,
            # The importer's CPU by part, all its processes (pipeline/cpu.py).
            "cpu_seconds": meter.seconds(),
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
            filemaker_bytes=self.client.transfer.total + self.workers_filemaker_bytes,
            dry_run=self.options.dry_run,
            limit=self.options.limit,
            workers=self.workers,
        )
