"""Progress for people: a bar with ETA on a terminal, quiet lines otherwise.

One unit throughout (images). The ETA waits for a stable rate (STEADY_AFTER
images and seconds) and reads in minutes: a first guess from one record is
noise, and a migration is planned in minutes, not seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

STEADY_AFTER_IMAGES = 20
STEADY_AFTER_SECONDS = 30.0


def eta_text(remaining: int, rate: float) -> str:
    seconds = remaining / rate
    if seconds < 60:
        return "under a minute left"
    return f"about {round(seconds / 60):,} min left"


class Progress:
    """Counts finished records; thread-safe."""

    def __init__(
        self,
        out: TextIO,
        *,
        every_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._out = out
        self._lock = threading.Lock()
        self._bar: tqdm | None = None
        self._done = 0
        self._total: int | None = None
        self._every = every_seconds
        self._last_line = 0.0
        self._started = self._clock()
        self._tty = bool(getattr(out, "isatty", lambda: False)())

    def start(self, total: int | None) -> None:
        self._total = total
        self._started = self._clock()
        if self._tty:
            self._bar = tqdm(
                total=total, file=self._out, unit=" images", dynamic_ncols=True
            )

    def advance(self, outcome: str) -> None:
        with self._lock:
            self._done += 1
            if self._bar is not None:
                self._bar.update(1)
                return
            now = self._clock()
            if now - self._last_line >= self._every:
                self._last_line = now
                self._line(now)

    def _line(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        total = f"/{self._total:,}" if self._total else ""
        eta = ""
        steady = self._done >= STEADY_AFTER_IMAGES and elapsed >= STEADY_AFTER_SECONDS
        if self._total and rate > 0 and steady:
            eta = f", {eta_text(max(self._total - self._done, 0), rate)}"
        self._out.write(
            f"progress: {self._done:,}{total} images, {rate:.1f} images/s{eta}\n"
        )
        self._out.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
