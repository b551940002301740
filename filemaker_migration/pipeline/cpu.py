"""Where the importer's CPU goes: each part of a record's way, per process.

The import is bound by its own CPU (docs/benchmarks.md), so the report says
what each part costs: the thread CPU time (`time.thread_time`, not the wall
clock: waiting on the network costs nothing here) spent in each part, summed
over the process's threads. Parts nest (the gallery's JPEGs are made inside
the check); a part's time excludes the parts inside it, so the parts add up
to the CPU the import spent in them. What is not in a part (thread and queue
hand-offs, the interpreter, Django's start-up) is the process's CPU time less
their sum.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

PARTS = (
    "page",  # finds, parsing, the ledger's registration
    "download",  # container bodies from FileMaker, hashed as they arrive
    "check",  # decoding and checking the picture
    "gallery",  # the thumbnail and display JPEGs
    "s3",  # the puts (original and gallery JPEGs)
    "database",  # batch, image row and ledger, in one transaction
    "write_back",  # NexusExportDate and the receipts
    "claims",  # worker processes only: offering, claiming, finishing
)


class CpuMeter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = defaultdict(float)
        self._stack = threading.local()

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        stack: list[list[float]] = self._stack.__dict__.setdefault("frames", [])
        # [started, CPU of the parts inside it]
        frame = [time.thread_time(), 0.0]
        stack.append(frame)
        try:
            yield
        finally:
            stack.pop()
            spent = time.thread_time() - frame[0]
            if stack:
                stack[-1][1] += spent
            with self._lock:
                self._seconds[name] += spent - frame[1]

    def seconds(self) -> dict[str, float]:
        with self._lock:
            return {name: round(self._seconds[name], 3) for name in PARTS}

    def reset(self) -> None:
        """A new run in this process (a worker forked with its parent's)."""
        with self._lock:
            self._seconds.clear()

    def add(self, seconds: dict[str, float]) -> None:
        """Another process's parts (a worker's), into this total."""
        with self._lock:
            for name, value in seconds.items():
                self._seconds[name] += value


# One meter per process: every stage's threads add to it.
meter = CpuMeter()
part = meter.part
