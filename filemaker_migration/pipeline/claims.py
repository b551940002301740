"""The run's shared work, for worker processes on this host and others.

With `--processes N` (or `--join` from another host) the records are not
handed from the pager to the workers in memory but through the database the
run already has:

    offer       the pager adds a WorkItem for each record it takes up
    claim       a worker takes a few unowned items; on PostgreSQL with
                `SELECT ... FOR UPDATE SKIP LOCKED`, so workers never wait on
                each other's claims; on SQLite the IMMEDIATE transaction (a
                system check insists on it) serialises the claims instead
    finish      the worker writes the record's outcome (the report's line)
                on its item; the pager's process reads these into the report

A worker's heartbeat is its lease. When it stops beating for LEASE (a host
lost), or its process is seen dead on this host, its unfinished items go back
to the others: nothing a worker held is lost, since every step of a record is
idempotent and resumes from the ledger. This module is the only one that
changes WorkItem and RunWorker rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import RunStatus
from filemaker_migration.models import RunWorker
from filemaker_migration.models import WorkItem
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.runlock import STALE_AFTER
from filemaker_migration.runlock import owner_is_dead
from filemaker_migration.runlock import this_process

HEARTBEAT_SECONDS = 5
LEASE = dt.timedelta(seconds=60)


def new_owner() -> str:
    """host:pid:nonce; the nonce tells apart two runs of one pid over time."""
    return f"{this_process()}:{uuid.uuid4().hex[:8]}"


# -- the pager's side -------------------------------------------------------------


def offer(run: ImportRun, entry: LedgerEntry, recid: int, patient: str | None) -> None:
    # The pager takes a record up once a run (the unique constraint says so).
    WorkItem.objects.create(
        run=run, entry=entry, recid=recid, patient_ref=patient or ""
    )


def paging_done(run: ImportRun) -> None:
    ImportRun.objects.filter(pk=run.pk).update(paged_at=timezone.now())


def request_stop(run: ImportRun) -> None:
    """Workers take no more records (the ones they hold are finished)."""
    ImportRun.objects.filter(pk=run.pk).update(stop_requested=True)


def take_finished(run: ImportRun, batch: int = 500) -> list[RecordOutcome]:
    """The outcomes of the items finished since the last call; their items go
    (the starting command alone reads them, into the report)."""
    found: list[RecordOutcome] = []
    while True:
        with transaction.atomic():
            rows = list(
                WorkItem.objects.filter(run=run, finished_at__isnull=False)
                .order_by("pk")
                .values_list("pk", "outcome")[:batch]
            )
            WorkItem.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
        found.extend(RecordOutcome(**outcome) for _, outcome in rows)
        if len(rows) < batch:
            return found


def live_runs():
    """Runs going on now: running, and their pager's lock is fresh."""
    fresh = timezone.now() - STALE_AFTER
    return ImportRun.objects.filter(
        status=RunStatus.RUNNING,
        dry_run=False,
        stop_requested=False,
        runlock__heartbeat_at__gte=fresh,
    )


def unfinished(run: ImportRun) -> int:
    return WorkItem.objects.filter(run=run, finished_at__isnull=True).count()


def workers_of(run: ImportRun) -> list[dict[str, object]]:
    """Each worker of the run, for the report (host and pid, not the nonce)."""
    rows = RunWorker.objects.filter(run=run).order_by("started_at")
    return [
        {"worker": owner.rsplit(":", 1)[0], "records": records, "lost": lost}
        for owner, records, lost in rows.values_list("owner", "records", "lost")
    ]


def filemaker_bytes(run: ImportRun) -> int:
    total = RunWorker.objects.filter(run=run).aggregate(n=Sum("filemaker_bytes"))["n"]
    return total or 0


def cpu_seconds(run: ImportRun) -> list[dict[str, float]]:
    """Each worker's CPU by part (pipeline/cpu.py), as it last said."""
    return list(RunWorker.objects.filter(run=run).values_list("cpu_seconds", flat=True))


def forget_other_runs(run: ImportRun) -> None:
    """Drop what earlier runs left undone (their process died); `run` holds
    the lock, so no other run is live. Their records are paged again."""
    WorkItem.objects.exclude(run=run).delete()


def tidy(run: ImportRun) -> None:
    """The run is over: its items are in the report and the ledger."""
    WorkItem.objects.filter(run=run).delete()


# -- a worker's side --------------------------------------------------------------


@dataclasses.dataclass
class Seat:
    """One worker process's place in a run."""

    run_id: int
    owner: str
    # Records finished, told to the database with the heartbeat (not a write
    # a record: the report reads it once the worker has left).
    records: int = 0
    _counting: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @classmethod
    def take(cls, run: ImportRun) -> Seat:
        owner = new_owner()
        RunWorker.objects.create(run=run, owner=owner, heartbeat_at=timezone.now())
        return cls(run.pk, owner)

    def beat(self, filemaker_bytes: int, cpu_seconds: dict[str, float]) -> None:
        self._tell(filemaker_bytes, cpu_seconds, heartbeat_at=timezone.now())

    def leave(self, filemaker_bytes: int, cpu_seconds: dict[str, float]) -> None:
        # Anything still held goes back at once (a worker stopped early).
        WorkItem.objects.filter(owner=self.owner, finished_at__isnull=True).update(
            owner=""
        )
        self._tell(filemaker_bytes, cpu_seconds, left_at=timezone.now())

    def _tell(
        self, filemaker_bytes: int, cpu_seconds: dict[str, float], **when: object
    ) -> None:
        """This worker's counts, for the report, with the moment said."""
        RunWorker.objects.filter(owner=self.owner).update(
            filemaker_bytes=filemaker_bytes,
            cpu_seconds=cpu_seconds,
            records=self.records,
            **when,
        )

    def live_run(self) -> ImportRun | None:
        """The run, while workers should take records up: None once it has
        ended, was asked to stop, or its starting command is gone (its lock
        went stale), so that nothing works on after a rollback may start."""
        return live_runs().only("paged_at").filter(pk=self.run_id).first()

    def claim(self, count: int) -> list[WorkItem]:
        """Up to `count` unowned items, lowest recid first, now this worker's."""
        release_lost(self.run_id)
        with transaction.atomic():
            free = (
                WorkItem.objects.select_for_update(skip_locked=True)
                .filter(run_id=self.run_id, owner="", finished_at__isnull=True)
                .order_by("recid")
                .values_list("pk", flat=True)[:count]
            )
            ids = list(free)
            if not ids:
                return []
            WorkItem.objects.filter(pk__in=ids, owner="").update(owner=self.owner)
        return list(
            WorkItem.objects.filter(pk__in=ids, owner=self.owner)
            .select_related("entry")
            .order_by("recid")
        )

    def finish(self, item_id: int, outcome: RecordOutcome) -> None:
        done = WorkItem.objects.filter(pk=item_id, owner=self.owner).update(
            outcome=dataclasses.asdict(outcome), finished_at=timezone.now()
        )
        with self._counting:
            self.records += done

    def has_work_left(self) -> bool:
        """Items not finished that this or another worker may still take."""
        return WorkItem.objects.filter(
            run_id=self.run_id, finished_at__isnull=True
        ).exists()


def release_lost(run_id: int) -> list[str]:
    """Give back the items of the run's workers that are gone; who they were."""
    stale = timezone.now() - LEASE
    live = RunWorker.objects.filter(run_id=run_id, left_at__isnull=True)
    lost = [
        owner
        for owner, beat in live.values_list("owner", "heartbeat_at")
        if beat < stale or owner_is_dead(owner.rsplit(":", 1)[0])
    ]
    if lost:
        with transaction.atomic():
            RunWorker.objects.filter(owner__in=lost).update(
                left_at=timezone.now(), lost=True
            )
            WorkItem.objects.filter(owner__in=lost, finished_at__isnull=True).update(
                owner=""
            )
    return lost


def live_workers(run_id: int) -> int:
    return RunWorker.objects.filter(run_id=run_id, left_at__isnull=True).count()


__all__ = [
    "HEARTBEAT_SECONDS",
    "LEASE",
    "Seat",
    "cpu_seconds",
    "filemaker_bytes",
    "forget_other_runs",
    "live_runs",
    "live_workers",
    "offer",
    "paging_done",
    "release_lost",
    "request_stop",
    "take_finished",
    "tidy",
    "unfinished",
    "workers_of",
]
