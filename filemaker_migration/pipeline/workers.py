"""Worker processes: past one interpreter, and past one host.

The importer's own CPU (download handling, the image check, the gallery's
JPEGs, S3 and database calls) runs under one interpreter lock per process, so
one process keeps about one core busy. With `--processes N` the command forks
N workers; each claims records from the database (claims.py), re-reads them
from FileMaker with its own Data API session (container URLs are scoped to
the session that listed them), and runs the same stages with its own threads.
The bodies never cross a process. `--join` runs the same worker on another
host, against the same database.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from django.db import DatabaseError
from django.db import connections

from filemaker_migration import decode_budget
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.conf import object_store
from filemaker_migration.crashpoints import set_worker
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import WorkItem
from filemaker_migration.pipeline import claims
from filemaker_migration.pipeline.accounting import ImportOptions
from filemaker_migration.pipeline.backoff import SharedBackoff
from filemaker_migration.pipeline.cpu import meter
from filemaker_migration.pipeline.cpu import part
from filemaker_migration.pipeline.outcomes import outcome_of
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.sinks import LedgerSink
from filemaker_migration.pipeline.sinks import Work
from filemaker_migration.pipeline.stages import TRANSFER_LIMIT
from filemaker_migration.pipeline.wiring import start_stages
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.source import SourceRecord
from filemaker_migration.source import parse_record
from filemaker_migration.targets import get_target

logger = logging.getLogger(__name__)

# How long a worker with nothing to claim waits before it looks again (the
# pager may still be taking records up, or a lost worker's may come back).
IDLE_SECONDS = 0.2
JOIN_POLL_SECONDS = 0.5
# A worker re-reads its claimed records as one recid range while the range
# holds at most this many records per claimed one; else one request each.
DENSE = 2

GONE = "the record is no longer in FileMaker (deleted after it was taken up)"


class NoRunToJoin(Exception):
    """`--join` found no import running in this database."""


class WorkerFailed(Exception):
    """A worker process's error whose own kind could not cross the process
    boundary (it does not pickle): its kind and words, one line."""


def _crossing(exc: Exception) -> Exception:
    """What the starting command is handed of a worker's error: the error
    itself where it pickles (so the command words it as it would its own),
    else WorkerFailed; either way with the worker's traceback as text
    (`worker_traceback`), which the command prints only when asked."""
    text = "".join(traceback.format_exception(exc))
    try:
        crossing: Exception = pickle.loads(pickle.dumps(exc))
    except Exception:  # any error's own pickling may fail its own way
        crossing = WorkerFailed(f"{type(exc).__name__}: {exc}")
    crossing.worker_traceback = text  # type: ignore[attr-defined]
    return crossing


def running_run(
    run_id: int | None = None,
    *,
    wait: float = 0,
    waiting: Callable[[], None] = lambda: None,
) -> ImportRun:
    """The run to join: the one named, or the one running now.

    Hosts may be started before the import itself: with `wait`, look again
    until one runs, for that many seconds (`waiting` is called once).
    """
    waited = 0.0
    while True:
        runs = claims.live_runs().exclude(options__processes=1)
        if run_id is not None:
            runs = runs.filter(pk=run_id)
        run = runs.order_by("-started_at").first()
        if run is not None:
            return run
        if waited >= wait:
            named = f"run {run_id} is not" if run_id is not None else "no import is"
            raise NoRunToJoin(
                f"{named} running with worker processes in this database: start "
                "it on one host with --processes 2 or more, then --join from others"
            )
        if not waited:
            waiting()
        time.sleep(JOIN_POLL_SECONDS)
        waited += JOIN_POLL_SECONDS


@dataclass
class Worker:
    """One process's share of a run: claim, re-read, run the stages, report."""

    run: ImportRun
    options: ImportOptions
    fm: FileMakerSettings
    client: DataAPIClient
    store: ObjectStore
    parent_pid: int | None = None  # a forked worker ends with its command
    # Its own process's CPU by part, for the report; not when it runs in the
    # starting command's process, whose meter the report reads already.
    own_process: bool = True

    def work(self) -> int:
        """Work until the run has nothing left; the records this one finished."""
        seat = claims.Seat.take(self.run)
        sink = LedgerSink(self.run)
        layout_fields = self.client.layout_fields(self.fm.layout)
        held: dict[str, int] = {}  # record id -> its WorkItem
        finished = 0
        stop = threading.Event()

        def settle(work: Work, outcome: RecordOutcome) -> None:
            nonlocal finished
            with part("claims"):
                seat.finish(held.pop(work.src.record_id), outcome)
            finished += 1
            if outcome.reason == TRANSFER_LIMIT:
                claims.request_stop(self.run)  # every worker, every host
                stop.set()

        backoff = SharedBackoff(self.run.pk, self.client.limiter)
        beat = threading.Thread(
            target=self._beat, args=(seat, backoff, stop), name="worker-beat"
        )
        beat.start()
        stages = start_stages(
            client=self.client,
            fm=self.fm,
            options=self.options,
            store=self.store,
            target=get_target(),
            layout_fields=layout_fields,
            sink=sink,
            settle=settle,
        )
        try:
            while not stop.is_set():
                run = seat.live_run()
                if run is None:
                    break
                with part("claims"):
                    items = seat.claim(self.options.workers)
                if not items:
                    if run.paged_at is not None and not seat.has_work_left():
                        break
                    stop.wait(IDLE_SECONDS)
                    continue
                for item in items:
                    held[item.entry.record_id] = item.pk
                with part("page"):
                    reread = self._reread(items, sink)
                for work, outcome in reread:
                    if outcome is None:
                        stages.put(work)
                    else:
                        settle(work, outcome)
        finally:
            stop.set()
            stages.close()
            beat.join()
            seat.leave(self.client.transfer.total, self._cpu())
            connections.close_all()
        return finished

    def _cpu(self) -> dict[str, float]:
        return meter.seconds() if self.own_process else {}

    def _reread(
        self, items: list[WorkItem], sink: LedgerSink
    ) -> list[tuple[Work, RecordOutcome | None]]:
        """The claimed records as FileMaker has them now, in one find."""
        fields = self.fm.image_fields
        low, high = min(i.recid for i in items), max(i.recid for i in items)
        if high - low < DENSE * len(items):
            # Claims are lowest recid first: one range asks FileMaker less
            # than a request per record (those in it not claimed are ignored).
            query = [{fields.recid: f"{low}...{high}"}]
            limit = high - low + 1
        else:
            query = [{fields.recid: f"=={item.recid}"} for item in items]
            limit = len(items)
        try:
            page = self.client.find(self.fm.layout, query, limit=limit)
            records = {record.record_id: record for record in page.records}
        except DataAPIError as exc:
            # Read one at a time instead: one bad record fails alone.
            logger.warning("re-reading %d records failed: %s", len(items), exc)
            records = {}
        found: list[tuple[Work, RecordOutcome | None]] = []
        for item in items:
            entry = item.entry
            record = records.get(entry.record_id)
            outcome: RecordOutcome | None = None
            if record is None:
                try:
                    record = self.client.get_record(self.fm.layout, entry.record_id)
                except DataAPIError as exc:
                    outcome = self._gone(entry, sink, exc)
            src = (
                parse_record(record, fields, use_thumbnail=self.options.use_thumbnail)
                if record is not None
                else _source_of(entry)
            )
            found.append((Work(src, entry, item.patient_ref or None), outcome))
        return found

    def _gone(
        self, entry: LedgerEntry, sink: LedgerSink, exc: DataAPIError
    ) -> RecordOutcome:
        work = Work(_source_of(entry), entry, None)
        sink.failed(work, "download_failed", f"{GONE}: {exc}", None)
        return outcome_of(work.src, "failed", "download_failed", f"{GONE}: {exc}")

    def _beat(
        self, seat: claims.Seat, backoff: SharedBackoff, stop: threading.Event
    ) -> None:
        beaten = time.monotonic()
        try:
            while not stop.wait(claims.HEARTBEAT_SECONDS):
                try:
                    seat.beat(self.client.transfer.total, self._cpu())
                    backoff.sync()
                    beaten = time.monotonic()
                except DatabaseError as exc:
                    logger.warning("worker heartbeat failed: %s", type(exc).__name__)
                if time.monotonic() - beaten > claims.LEASE.total_seconds() / 2:
                    # Others will take this worker's records soon: stop first.
                    logger.error("the database has not heard this worker; ending")
                    stop.set()
                if self.parent_pid is not None and os.getppid() != self.parent_pid:
                    logger.error("the import that started this worker has ended")
                    stop.set()
        finally:
            connections.close_all()


def _source_of(entry: LedgerEntry) -> SourceRecord:
    """What the ledger knows of a record FileMaker no longer returns."""
    return SourceRecord(
        record_id=entry.record_id,
        mod_id=entry.mod_id,
        recid=None,
        filemaker_id_raw=entry.filemaker_id_raw,
        filemaker_id=entry.filemaker_id or None,
        contact_id=entry.contact_id,
        image_type=entry.image_type,
        image_date=entry.image_date,
        original_filename=entry.original_filename,
        containers=(),
        md5="",
        modified_at=entry.modified_at_source,
        exported=False,
        image_date_raw=entry.image_date_raw,
    )


# -- forked workers -----------------------------------------------------------------


def fork_workers(run: ImportRun, count: int, options: ImportOptions) -> list:
    """Start `count` worker processes for `run`; they end when it has no work.

    Forked, not spawned: a worker is this command's copy, with the same
    settings however the project made them, and it opens its own database
    connection, Data API session and S3 client. The caller forks before it
    starts any thread of its own.
    """
    connections.close_all()  # never share a connection across a fork
    parent = os.getpid()
    processes = []
    for index in range(1, count + 1):
        failures, failure_end = multiprocessing.Pipe(duplex=False)
        process = WorkerProcess(
            target=_worker_main,
            args=(run.pk, index, options, parent, failure_end),
            name=f"import-worker-{index}",
            daemon=True,
        )
        process.failures = failures
        process.start()
        failure_end.close()  # the worker's end, in the worker now
        processes.append(process)
    return processes


class WorkerProcess(multiprocessing.context.ForkProcess):
    """A forked worker, and the pipe its error comes back on."""

    failures: Connection

    def failure(self) -> Exception | None:
        """The error the ended worker sent (see _worker_main), if any."""
        try:
            return self.failures.recv() if self.failures.poll() else None
        except (EOFError, OSError):  # killed before it could say
            return None


def _worker_main(
    run_id: int, index: int, options: ImportOptions, parent: int, failures: Connection
) -> None:
    """A forked worker. Its error goes to the starting command, which prints
    it as the one line it would print of its own; the worker prints no
    traceback (multiprocessing would), and logs it at DEBUG only."""
    try:
        _work_as_worker(run_id, index, options, parent)
    except Exception as exc:
        logger.debug("worker %d failed", index, exc_info=True)
        with contextlib.suppress(OSError):
            failures.send(_crossing(exc))
        sys.exit(1)


def _work_as_worker(
    run_id: int, index: int, options: ImportOptions, parent: int
) -> None:
    _die_with(parent)
    # Ctrl-C reaches the whole process group: the command asks its workers
    # to stop (they finish the records they hold), so they ignore it here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_worker(index)
    meter.reset()  # forked with the parent's counts
    fm = FileMakerSettings.from_settings()
    decode_budget.set_up_process(fm.decode_budget_megapixels)
    store = object_store(max_pool=options.workers)
    run = ImportRun.objects.get(pk=run_id)
    with fm.client(max_concurrency=2 * options.workers) as client:
        Worker(run, options, fm, client, store, parent_pid=parent).work()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when the command that forked it dies
    (Linux); elsewhere the heartbeat notices within HEARTBEAT_SECONDS. A
    worker killed so is a crash like any other: its records resume."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the kernel was asked
        os._exit(1)
