"""Adaptive concurrency for requests to FileMaker (AIMD, like TCP congestion control).

When the server answers 429/502/503 the limit halves, so a burst of workers
never turns into a storm that takes the source down; each run of successes
raises it by one again, up to the configured maximum.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AdaptiveLimiter:
    def __init__(self, maximum: int, *, minimum: int = 1, successes_per_step: int = 8):
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        self.maximum = maximum
        self.minimum = max(1, min(minimum, maximum))
        self.limit = maximum
        self.in_flight = 0
        self.overloads = 0
        self.lowest_limit = maximum
        self._successes = 0
        self._successes_per_step = successes_per_step
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify()

    def on_success(self) -> None:
        with self._cond:
            if self.limit >= self.maximum:
                return
            self._successes += 1
            if self._successes >= self._successes_per_step:
                self._successes = 0
                self.limit += 1
                self._cond.notify()

    def on_overload(self) -> None:
        with self._cond:
            self.overloads += 1
            self._successes = 0
            self.limit = max(self.minimum, self.limit // 2)
            self.lowest_limit = min(self.lowest_limit, self.limit)

    def cap(self, maximum: int) -> None:
        """A new maximum (the share of a limit shared with other processes)."""
        with self._cond:
            self.maximum = max(1, maximum)
            self.minimum = min(self.minimum, self.maximum)
            self.limit = min(self.limit, self.maximum)
            self.lowest_limit = min(self.lowest_limit, self.limit)
            self._cond.notify_all()
