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

    def as_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "dry_run": self.dry_run,
            "workers": self.workers,
            "page_size": self.page_size,
            "use_thumbnail": self.use_thumbnail,
            "max_bytes": self.max_bytes,
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

    @property
    def seen(self) -> int:
        return sum(self.totals.values())

    @property
    def failed(self) -> int:
        return self.totals.get("failed", 0)


class Budget:
    """--limit N: at most N records imported, counting those still in flight."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.imported = 0
        self.in_flight = 0
        self._cond = threading.Condition()

    def acquire(self) -> bool:
        with self._cond:
            if self.limit is None:
                self.in_flight += 1
                return True
            while self.imported + self.in_flight >= self.limit:
                if self.imported >= self.limit:
                    return False
                self._cond.wait()
            self.in_flight += 1
            return True

    def release(self, imported: bool) -> None:
        with self._cond:
            self.in_flight -= 1
            if imported:
                self.imported += 1
            self._cond.notify_all()


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
        self.reasons: Counter[str] = Counter()
        self.fields: Counter[str] = Counter()
        self.batches = 0
        self.bytes = 0

    def add(self, outcome: RecordOutcome) -> None:
        with self.lock:
            self.outcomes[outcome.outcome] += 1
            if outcome.reason:
                self.reasons[f"{outcome.outcome}:{outcome.reason}"] += 1
            if outcome.outcome in ("imported", "imported_unlinked"):
                self.fields[outcome.container_field] += 1
                self.bytes += outcome.size
            self.batches += int(outcome.batch_created)
