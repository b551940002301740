"""Deterministic crash injection for the crash-and-resume harness.

The import calls `crashpoint("after_upload")` etc. between its steps. With the
setting CRASH_AT = "after_upload:7" (environment MIGRATION_CRASH_AT), the
process kills itself with SIGKILL the 7th time any worker passes that point:
no cleanup, no finally blocks, exactly like a power cut or `kill -9`. Unset
(always, outside the tests), a crash point costs one comparison.

"after_upload:7@1" kills only worker process 1 of a run with `--processes`
(each process counts its own passes), so a test can kill one worker while
the others go on; "@0" is the command that started them. Several points,
comma-separated, each count on their own: "after_persist:3@1,after_persist:3@2"
kills both workers of two.
"""

from __future__ import annotations

import os
import signal
import threading

from filemaker_migration import conf

POINTS = (
    "after_register",
    "after_download",
    "after_upload",
    "after_persist",
    "after_mark",
)

_lock = threading.Lock()
_hits: dict[str, int] = {}
_worker: int | None = None  # this process's worker number, if a worker


def set_worker(index: int) -> None:
    """This process is worker `index` of a run (a fresh count of passes)."""
    global _worker
    _worker = index
    _hits.clear()


def crashpoint(name: str) -> None:
    spec = conf.crash_at()
    if not spec:
        return
    for one in spec.split(","):
        one, _, only = one.strip().partition("@")
        point, _, count = one.partition(":")
        if point != name or (only and str(_worker or 0) != only):
            continue
        with _lock:
            _hits[name] = _hits.get(name, 0) + 1
            if _hits[name] >= int(count or 1):
                os.kill(os.getpid(), signal.SIGKILL)
        return
