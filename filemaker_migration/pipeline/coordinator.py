"""The starting command's side of a run with worker processes.

The pager offers each record it takes up in the database (claims.py); the
workers (workers.py) finish them. A merger thread here reads their outcomes
back into the run's report as they come, so the progress line, the tripwire
and the 953 halt see every worker's, and waits until every record offered is
finished. Paging stays a little ahead of the workers, as the bounded queues
keep it in one process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import connections

from filemaker_migration.models import ImportRun
from filemaker_migration.pipeline import claims
from filemaker_migration.pipeline.cpu import meter
from filemaker_migration.pipeline.cpu import part
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.sinks import Work

logger = logging.getLogger(__name__)

# How often the starting command reads the workers' outcomes back.
MERGE_SECONDS = 0.5


class UnfinishedRecords(Exception):
    """Records were offered that no worker finished (the workers all ended)."""


class SharedRun:
    def __init__(
        self,
        run: ImportRun,
        children: list,
        *,
        ahead: int,
        settle: Callable[[RecordOutcome], None],
        stop: threading.Event,
        take_over: Callable[[], object],
    ) -> None:
        self.run = run
        self.children = children
        # Records offered and not yet finished, at most (about what the
        # workers' threads and queues hold): an early stop or a halt then
        # leaves few records taken up and unfinished.
        self.ahead = ahead
        self.settle = settle
        self.stop = stop
        self.take_over = take_over  # finish the rest in this process
        self.workers: list[dict[str, object]] = []
        self.filemaker_bytes = 0
        self._offered = 0
        self._finished = 0
        self._merged = threading.Condition()
        self._paged = threading.Event()
        # Every forked worker has ended: paging then goes on unthrottled and
        # this process finishes what is offered once paging is done.
        self._workers_gone = threading.Event()
        self._failures: list[BaseException] = []
        self._merger = threading.Thread(target=self._watch, name="merge")

    def start(self) -> None:
        self._merger.start()

    def offer(self, work: Work) -> None:
        """The pager's hand-on: a record for the workers."""
        assert work.entry is not None
        assert work.src.recid is not None  # paged by recid
        with self._merged:
            while (
                self._offered - self._finished >= self.ahead
                and not self.stop.is_set()
                and not self._workers_gone.is_set()
            ):
                self._merged.wait(MERGE_SECONDS)
        with part("claims"):
            claims.offer(self.run, work.entry, work.src.recid, work.patient)
        self._offered += 1

    def paging_done(self) -> None:
        claims.paging_done(self.run)

    def abandon(self) -> None:
        """The pager failed or was interrupted: workers take nothing more."""
        self.stop.set()
        claims.request_stop(self.run)

    def finish(self) -> BaseException | None:
        """Wait for the workers, read the last outcomes back, tidy up; the
        error that ended the run, if one did (the caller raises it, unless an
        error of its own is on its way already)."""
        self._paged.set()
        self._merger.join()
        for child in self.children:
            child.join()
        self._merge()
        left = claims.unfinished(self.run)
        self.workers = claims.workers_of(self.run)
        self.filemaker_bytes = claims.filemaker_bytes(self.run)
        for seconds in claims.cpu_seconds(self.run):
            meter.add(seconds)
        claims.tidy(self.run)
        failed = [
            (child.name, failure)
            for child in self.children
            if (failure := child.failure()) is not None
        ]
        if self._failures:
            return self._failures[0]
        if left and not self.stop.is_set():
            if failed:
                return failed[0][1]  # the worker's own error says why
            return UnfinishedRecords(
                f"{left} record(s) taken up were left unfinished: the worker "
                "processes ended early; running the import again takes them up"
            )
        for name, failure in failed:
            logger.warning(
                "%s ended early (%s: %s); the others finished its records",
                name,
                type(failure).__name__,
                failure,
            )
        return None

    def _merge(self) -> None:
        with part("claims"):
            done = claims.take_finished(self.run)
        for outcome in done:
            self.settle(outcome)
        self._finished += len(done)
        with self._merged:
            self._merged.notify_all()
        if self.stop.is_set():
            claims.request_stop(self.run)

    def _watch(self) -> None:
        try:
            self._merge_until_finished()
        except BaseException as exc:  # raised again by finish()
            self.abandon()
            self._failures.append(exc)
        finally:
            connections.close_all()

    def _merge_until_finished(self) -> None:
        """Read outcomes back until every record offered is finished.

        If every worker process has ended with records left (all were
        killed), this process finishes them itself, once.
        """
        took_over = False
        while True:
            self._merge()
            # is_alive() also reaps a worker that died, so that its pid is
            # seen dead and its records go back at once.
            alive = sum(child.is_alive() for child in self.children) > 0
            if not alive:
                self._workers_gone.set()
                with self._merged:
                    self._merged.notify_all()
            if not self._paged.is_set():
                self._paged.wait(MERGE_SECONDS)
                continue
            if not claims.unfinished(self.run):
                return
            if not alive and (took_over or self.stop.is_set()):
                return
            if not alive:
                logger.warning(
                    "every worker process ended with records left; "
                    "this process finishes them"
                )
                claims.release_lost(self.run.pk)
                took_over = True
                self.take_over()
                continue
            time.sleep(MERGE_SECONDS)
