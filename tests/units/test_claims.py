"""The run's shared work (pipeline/claims.py) and shared back-off (backoff.py),
one rule at a time, on the real database."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from django.db import IntegrityError
from django.db import transaction
from django.utils import timezone

from filemaker_migration.dataapi import AdaptiveLimiter
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import RunWorker
from filemaker_migration.models import WorkItem
from filemaker_migration.pipeline import claims
from filemaker_migration.pipeline.backoff import SharedBackoff
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.runlock import this_process

pytestmark = pytest.mark.django_db


def offered(count: int, run: ImportRun | None = None) -> ImportRun:
    run = run or ImportRun.objects.create(filemaker_limit=32)
    for recid in range(1, count + 1):
        entry = LedgerEntry.objects.create(record_id=str(recid))
        claims.offer(run, entry, recid, None)
    return run


def test_claims_are_disjoint_and_lowest_recid_first():
    run = offered(5)
    first, second = claims.Seat.take(run), claims.Seat.take(run)
    a = [item.recid for item in first.claim(3)]
    b = [item.recid for item in second.claim(3)]
    assert (a, b) == ([1, 2, 3], [4, 5])
    assert first.claim(3) == []


def test_a_record_is_offered_once_a_run():
    run = offered(2)
    entry = LedgerEntry.objects.get(record_id="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        claims.offer(run, entry, 1, None)
    assert WorkItem.objects.filter(run=run).count() == 2


def test_finished_outcomes_are_taken_in_batches_and_none_twice():
    run = offered(7)
    seat = claims.Seat.take(run)
    for item in seat.claim(7):
        seat.finish(item.pk, RecordOutcome(item.entry.record_id, "ID", "imported"))
    taken = claims.take_finished(run, batch=3)
    assert sorted(int(o.record_id) for o in taken) == list(range(1, 8))
    assert not WorkItem.objects.filter(run=run).exists()


def test_a_finished_item_carries_its_outcome_back():
    run = offered(1)
    seat = claims.Seat.take(run)
    (item,) = seat.claim(1)
    seat.finish(item.pk, RecordOutcome("1", "ID", "imported"))
    assert [o.outcome for o in claims.take_finished(run)] == ["imported"]
    assert claims.take_finished(run) == []  # read back once
    assert claims.unfinished(run) == 0
    seat.leave(filemaker_bytes=0, cpu_seconds={})  # counts go with the heartbeat
    assert RunWorker.objects.get(owner=seat.owner).records == 1


def test_a_dead_worker_s_items_go_back_at_once():
    run = offered(2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = f"{this_process().rsplit(':', 1)[0]}:{dead.pid}:cafe0000"
    RunWorker.objects.create(run=run, owner=owner, heartbeat_at=timezone.now())
    WorkItem.objects.filter(run=run).update(owner=owner)

    alive = claims.Seat.take(run)
    assert [item.recid for item in alive.claim(5)] == [1, 2]
    assert RunWorker.objects.get(owner=owner).lost


def test_a_silent_worker_s_items_go_back_after_the_lease():
    run = offered(1)
    other_host = "elsewhere:123:beef0000"
    RunWorker.objects.create(
        run=run,
        owner=other_host,
        heartbeat_at=timezone.now() - claims.LEASE - dt.timedelta(seconds=1),
    )
    WorkItem.objects.filter(run=run).update(owner=other_host)
    assert claims.release_lost(run.pk) == [other_host]
    assert claims.Seat.take(run).claim(1)


def test_a_live_worker_on_another_host_keeps_its_items():
    run = offered(1)
    RunWorker.objects.create(
        run=run, owner="elsewhere:123:beef0000", heartbeat_at=timezone.now()
    )
    WorkItem.objects.filter(run=run).update(owner="elsewhere:123:beef0000")
    assert claims.Seat.take(run).claim(1) == []


def test_leaving_gives_back_what_a_worker_still_held():
    run = offered(2)
    seat = claims.Seat.take(run)
    seat.claim(2)
    seat.leave(filemaker_bytes=10, cpu_seconds={})
    assert claims.Seat.take(run).claim(2)


def test_an_overload_anywhere_halves_every_worker_s_share():
    run = offered(0)  # a run limit of 32, for two workers
    claims.Seat.take(run)
    claims.Seat.take(run)
    one, two = AdaptiveLimiter(32), AdaptiveLimiter(32)
    first, second = SharedBackoff(run.pk, one), SharedBackoff(run.pk, two)
    assert first.sync() == 16  # its share: 32 across two workers

    two.on_overload()  # FileMaker answered 503 to the second worker
    second.sync()
    assert ImportRun.objects.get(pk=run.pk).filemaker_limit == 16
    assert first.sync() <= 9  # the first worker keeps to its new share
    assert one.maximum <= 9


def test_the_shared_limit_recovers_but_never_passes_the_start():
    run = offered(0)
    claims.Seat.take(run)
    limiter = AdaptiveLimiter(32)
    backoff = SharedBackoff(run.pk, limiter)
    limiter.on_overload()
    backoff.sync()
    for _ in range(40):
        backoff.sync()
    assert ImportRun.objects.get(pk=run.pk).filemaker_limit == 32
