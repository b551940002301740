"""The stages after the pager, wired with threads and bounded queues.

    N fetchers    the Chooser: download the best container and check it
    N finishers   the Storer, Committer and WriteBack: S3, the database,
                  FileMaker

Records are put in by whoever takes them up: the pager in the same process,
or a worker process that claimed them from the database (workers.py). The
queues are bounded, so taking up never runs far ahead and memory stays flat
whatever the number of records, while N downloads stay in flight.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable

from django.db import connections

from filemaker_migration import ledger
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import FieldMeta
from filemaker_migration.pipeline.accounting import ImportOptions
from filemaker_migration.pipeline.outcomes import outcome_of
from filemaker_migration.pipeline.outcomes import success_of
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.select import Chosen
from filemaker_migration.pipeline.sinks import Sink
from filemaker_migration.pipeline.sinks import Work
from filemaker_migration.pipeline.stages import Chooser
from filemaker_migration.pipeline.stages import Committer
from filemaker_migration.pipeline.stages import Storer
from filemaker_migration.pipeline.stages import WriteBack
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.targets import Target

logger = logging.getLogger(__name__)

Settle = Callable[[Work, RecordOutcome], None]


def start_stages(
    *,
    client: DataAPIClient,
    fm: FileMakerSettings,
    options: ImportOptions,
    store: ObjectStore,
    target: Target,
    layout_fields: dict[str, FieldMeta],
    sink: Sink,
    settle: Settle,
) -> StageThreads:
    """The stages after the pager, running: in the pager's process or a worker's."""
    fields = fm.image_fields
    chooser = Chooser(
        client, fm.layout, fields, options, sink, store.settings.key_prefix
    )
    finish = _finisher(
        Storer(store, sink),
        Committer(target, sink),
        WriteBack(client, fm.layout, fields, layout_fields, sink),
    )
    return StageThreads(options.workers, chooser, finish, sink, settle)


def _finisher(storer: Storer, committer: Committer, write_back: WriteBack):
    """Store (unless done before), commit the rows, tell FileMaker."""

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


class StageThreads:
    """`workers` fetchers and as many finishers; each record ends in `settle`.

    A fetcher hands its checked bytes on and starts the next download at
    once, so `workers` downloads stay in flight while earlier records are
    being uploaded, committed and marked.
    """

    def __init__(
        self,
        workers: int,
        chooser: Chooser,
        finish: Callable[..., RecordOutcome],
        sink: Sink,
        settle: Settle,
    ) -> None:
        self.sink = sink
        self.settle = settle
        self.work: queue.Queue[Work | None] = queue.Queue(maxsize=workers * 2)
        self.fetched: queue.Queue[tuple[Work, Chosen | None] | None] = queue.Queue(
            maxsize=workers
        )

        def choose_loop() -> None:
            while (item := self.work.get()) is not None:
                self._guarded(
                    item,
                    lambda w: chooser.run(w, lambda w2, c: self.fetched.put((w2, c))),
                )

        def finish_loop() -> None:
            while (item := self.fetched.get()) is not None:
                held, chosen = item
                try:
                    self._guarded(held, functools.partial(finish, chosen=chosen))
                finally:
                    if chosen is not None:
                        chosen.close()

        self.fetchers = _threads("fetch", workers, choose_loop)
        self.finishers = _threads("finish", workers, finish_loop)

    def put(self, work: Work) -> None:
        self.work.put(work)

    def close(self) -> None:
        """Finish every record put in, then end the threads."""
        for stage_queue, threads in (
            (self.work, self.fetchers),
            (self.fetched, self.finishers),
        ):
            for _ in threads:
                stage_queue.put(None)
            for thread in threads:
                thread.join()

    def _guarded(self, work: Work, step) -> None:
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
            self.sink.failed(work, "unexpected_error", repr(exc), None)
        if outcome is not None:
            self.settle(work, outcome)


def _threads(name: str, count: int, loop) -> list[threading.Thread]:
    def target() -> None:
        try:
            loop()
        finally:
            connections.close_all()  # each thread's own connection

    threads = [
        threading.Thread(target=target, name=f"import-{name}-{i}") for i in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads
