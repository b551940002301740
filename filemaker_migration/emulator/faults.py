"""Fault knobs: what the emulator does wrong on purpose, all off by default.

Every knob is read on each request, so tests may change them on a running
emulator (``app.faults.drop_probability = 1.0``); ``Backend.set_faults``
replaces them all and re-seeds the random draws.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import random
import textwrap
import threading
from dataclasses import dataclass
from functools import cache
from typing import cast


@dataclass
class FaultConfig:
    """Knobs for latency, bandwidth, failures and session limits."""

    latency_ms: int = 0
    """Sleep this long before answering each Data API call (/fmi/...)."""

    container_ttfb_ms: int = 0
    """Sleep this long before the first byte of a container download."""

    stream_bytes_per_sec: int = 0
    """Bandwidth cap per container download, bytes/s (0 = unlimited)."""

    total_bytes_per_sec: int = 0
    """Bandwidth cap shared by all container downloads, bytes/s (0 = unlimited)."""

    token_idle_seconds: float = 900.0
    """Sliding idle lifetime of a Data API token (FileMaker Server: 15 min)."""

    container_url_seconds: float = 900.0
    """How long a container URL works after the record was last read."""

    http_502_probability: float = 0.0
    """Chance that any request gets a web server's HTML 502 Bad Gateway."""

    http_503_probability: float = 0.0
    """Chance that any request gets an HTML 503 with Retry-After."""

    retry_after_seconds: int = 1
    """Retry-After value sent with injected 503 answers."""

    drop_probability: float = 0.0
    """Chance that any request's connection is closed without an answer."""

    invalidate_sessions_after_calls: int = 0
    """After N token-carrying calls every session is dropped, so the next call
    answers 952; the count then restarts (0 = never)."""

    max_sessions: int = 0
    """Concurrent session cap; a login beyond it answers 956 (0 = no cap)."""

    fail_every_nth_patch: int = 0
    """Every Nth record edit answers 951 without changing anything (0 = never)."""

    seed: int | None = None
    """Seed for the random faults, for reproducible runs."""


@cache
def field_docs() -> dict[str, str]:
    """Map each knob to its attribute docstring (the command's --help text)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(FaultConfig)))
    docs: dict[str, str] = {}
    # The source parsed is FaultConfig's: its one statement is the class.
    body = cast(ast.ClassDef, tree.body[0]).body
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
        ):
            docs[node.target.id] = " ".join(str(following.value.value).split())
    return docs


class FaultDice:
    """The seeded random draws behind the probability knobs (thread-safe)."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self, probability: float) -> bool:
        # Draw only for enabled knobs so one knob's draws don't shift another's.
        if probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability
