"""Progress for people: a bar with ETA on a terminal, quiet lines otherwise."""

from __future__ import annotations

import threading
import time
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Counts finished records; thread-safe."""

    def __init__(self, out: TextIO, *, every_seconds: float = 10.0) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._bar: tqdm | None = None
        self._done = 0
        self._total: int | None = None
        self._every = every_seconds
        self._last_line = 0.0
        self._started = time.monotonic()
        self._tty = bool(getattr(out, "isatty", lambda: False)())

    def start(self, total: int | None) -> None:
        self._total = total
        self._started = time.monotonic()
        if self._tty:
            self._bar = tqdm(
                total=total, file=self._out, unit="img", dynamic_ncols=True
            )

    def advance(self, outcome: str) -> None:
        with self._lock:
            self._done += 1
            if self._bar is not None:
                self._bar.update(1)
                return
            now = time.monotonic()
            if now - self._last_line >= self._every:
                self._last_line = now
                self._line(now)

    def _line(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        total = f"/{self._total}" if self._total else ""
        eta = ""
        if self._total and rate > 0:
            eta = f", ETA {max(self._total - self._done, 0) / rate:.0f}s"
        self._out.write(f"progress: {self._done}{total} records, {rate:.1f}/s{eta}\n")
        self._out.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
