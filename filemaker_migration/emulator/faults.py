"""Fault knobs: what the emulator does wrong on purpose, all off by default.

Every knob is read on each request, so tests may change them on a running
emulator (``app.faults.drop_probability = 1.0``); ``Backend.set_faults``
replaces them all and re-seeds the random draws.

Some knobs are not faults but what real FileMaker Servers do and the
emulator's defaults leave out (stale streaming URLs, token-protected
streaming, one request at a time per session, the transfer allowance, record
locking, portals, request validation); ``strict_profile()`` turns them all on.
Each says where the behaviour comes from (docs/filemaker-integration.md).
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

    stale_url_every_nth: int = 0
    """Records whose id is a multiple of N come out of finds and range reads
    with stale container URLs, as if read long before; reading the record
    alone gives fresh ones (0 = never)."""

    stale_url_redirect: bool = False
    """A stale, expired or unknown streaming URL answers 302 without a
    session cookie (fmrest-ruby) instead of 401 (go-fm)."""

    stream_requires_token: bool = False
    """The cookie-less first request of a container download needs a live
    Data API token in Authorization, else 401 (authenticatedStream, FileMaker
    Server 19.3.1+)."""

    reference_records: str = ""
    """Record ids, comma-separated, whose container values are file
    references (filewin:/...), as containers stored by reference come back."""

    one_request_per_token: bool = False
    """Requests carrying the same token are served one at a time, the rest
    queue (a session is single-threaded, proofsh/fmdapi#18)."""

    transfer_budget_bytes: int = 0
    """Bytes the Data API may still send (the licence's annual outbound
    allowance, pooled with OData); beyond it calls answer 953 (0 = no limit)."""

    transfer_counts_containers: bool = True
    """Container downloads count against the transfer budget (UNCONFIRMED)."""

    locked_every_nth: int = 0
    """Records whose id is a multiple of N are open in a user's window: their
    next lock_refusals edits answer 301 (0 = none)."""

    lock_refusals: int = 2
    """Edits a locked record refuses (301) before its user closes it."""

    html_200_every_nth: int = 0
    """Every Nth container body request answers 200 with an HTML page (a
    proxy's), alternately labelled text/html and the file's own type (0 = never)."""

    portal_rows: int = 0
    """Every layout shows a portal (Notes) with this many related rows; a read
    without a portal parameter returns every portal (0 = no portals)."""

    strict_validation: bool = False
    """Validate requests as the Data API does: unknown find keys and bad
    paging values answer 960 with HTTP 400, a body without Content-Type 415."""

    seed: int | None = None
    """Seed for the random faults, for reproducible runs."""


def strict_profile(**overrides: object) -> FaultConfig:
    """Every real-server behaviour the emulator can produce, at once.

    Only behaviours a client must survive without changing any outcome: a
    record with a stale URL, a lock or an HTML page in place of its bytes
    still ends as it would on a quiet server. Stored-by-reference containers
    change outcomes, so they are the caller's to name (``reference_records``).
    """
    profile = FaultConfig(
        stale_url_every_nth=5,
        stale_url_redirect=True,
        stream_requires_token=True,
        one_request_per_token=True,
        # Counted, and far from reached: the licence's figure is per year.
        transfer_budget_bytes=50 * 1024**3,
        locked_every_nth=7,
        lock_refusals=1,
        html_200_every_nth=13,
        portal_rows=3,
        strict_validation=True,
    )
    for name, value in overrides.items():
        if not hasattr(profile, name):
            raise TypeError(f"strict_profile: no knob {name!r}")
        setattr(profile, name, value)
    return profile


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
