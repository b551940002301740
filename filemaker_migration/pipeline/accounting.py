"""What a run is asked to do, what it counts while it runs, and what it returns."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from filemaker_migration.pipeline.report import RecordOutcome

OUTCOMES = ("imported", "imported_unlinked", "skipped", "failed")


@dataclass(frozen=True)
class ImportOptions:
    limit: int | None = None
    dry_run: bool = False
    workers: int = 16
    page_size: int = 100
    report_path: Path | None = None
    use_thumbnail: bool = False
    max_bytes: int = 200 * 1024 * 1024
    processes: int = 1  # worker processes; 1: the stages run in this one

    def as_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "dry_run": self.dry_run,
            "workers": self.workers,
            "page_size": self.page_size,
            "use_thumbnail": self.use_thumbnail,
            "max_bytes": self.max_bytes,
            "processes": self.processes,
        }


@dataclass
class ImportResult:
    run_id: int | None
    totals: dict[str, int]
    container_usage: dict[str, int]
    batches_created: int
    bytes: int
    seconds: float
    report_path: Path
    status: str
    reasons: dict[str, int] = field(default_factory=dict)
    # One example cause per failure reason, for the console (no keys, no ids).
    causes: dict[str, str] = field(default_factory=dict)
    stopped_early: str = ""  # the cause, when the tripwire stopped the run
    # FileMaker's 953: its transfer allowance ran out and the run stopped.
    halted: str = ""
    filemaker_bytes: int = 0  # received from FileMaker (Data API + containers)
    dry_run: bool = False
    limit: int | None = None  # --limit: a trial run
    # With worker processes: each one's host and pid, records, whether lost.
    workers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return sum(self.totals.values())

    @property
    def failed(self) -> int:
        return self.totals.get("failed", 0)


class Budget:
    """--limit N: at most N records taken up for work, whatever their outcome.

    A trial run against a broken destination then tries N records, not every
    record in FileMaker. Records settled without a download (invalid or
    duplicate ids, unchanged skips) are not taken up and do not count.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.taken = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.limit is not None and self.taken >= self.limit:
                return False
            self.taken += 1
            return True


# Failures at the destination that, if the first records all meet the same
# one, say the destination is broken (a missing bucket, access denied, a
# database refusing writes), not the records.
DESTINATION_FAILURES = ("s3_put_failed", "s3_conflict", "database_write_failed")


# Records in a row that failed the same way at the destination stop a run.
TRIPWIRE_AFTER = 5


def _cause_of(detail: str) -> str:
    """The part of a failure's detail that is the same for every record when
    the destination is at fault: S3's code and message after the key it
    names, the database's error and first line (PostgreSQL's further lines,
    its DETAIL and CONTEXT, may name the row)."""
    first = detail.splitlines()[0] if detail else ""
    return first.rsplit(" failed: ", 1)[-1]


class Tripwire:
    """Stops a run once `after` records in a row have failed the same way at
    the destination (S3 or the database), at any point of the run: it is down
    or refusing, and every further record would fail too. Any other outcome
    between them starts the count again. The records already taken up are
    finished; the rest are left to the next run."""

    def __init__(self, after: int = TRIPWIRE_AFTER) -> None:
        self.after = after
        self.cause = ""  # set when tripped: what the records met
        self._streak: tuple[str, str] | None = None
        self._count = 0
        self._lock = threading.Lock()

    def observe(self, outcome: RecordOutcome) -> bool:
        """Note a settled record; True when the run should stop now."""
        with self._lock:
            if self.cause:
                return False  # stopping already
            if outcome.outcome != "failed" or outcome.reason not in (
                DESTINATION_FAILURES
            ):
                self._streak, self._count = None, 0
                return False
            seen = (outcome.reason, _cause_of(outcome.detail))
            if seen != self._streak:
                self._streak, self._count = seen, 0
            self._count += 1
            if self._count < self.after:
                return False
            reason, cause = seen
            self.cause = f"{reason} ({cause})"
            return True


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
        self.reasons: Counter[str] = Counter()
        self.causes: dict[str, str] = {}
        self.fields: Counter[str] = Counter()
        self.batches = 0
        self.bytes = 0

    def add(self, outcome: RecordOutcome) -> None:
        with self.lock:
            self.outcomes[outcome.outcome] += 1
            if outcome.reason:
                key = f"{outcome.outcome}:{outcome.reason}"
                self.reasons[key] += 1
                if outcome.outcome == "failed" and key not in self.causes:
                    self.causes[key] = outcome.detail.rsplit(": ", 1)[-1][:200]
            if outcome.outcome in ("imported", "imported_unlinked"):
                self.fields[outcome.container_field] += 1
                self.bytes += outcome.size
            self.batches += int(outcome.batch_created)
