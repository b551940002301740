"""One import at a time per database, with recovery of a dead run's lock.

The lock is a row (unique name) holding the owner's host and pid and a
heartbeat the owner refreshes. A second run is refused while the heartbeat is
fresh; a lock whose owner is gone (its pid is dead on this host, or its
heartbeat is older than STALE_AFTER) is taken over.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading

from django.db import IntegrityError
from django.db import connections
from django.db import transaction
from django.utils import timezone

from filemaker_migration.models import ImportRun
from filemaker_migration.models import RunLock

HEARTBEAT_SECONDS = 10
STALE_AFTER = dt.timedelta(seconds=60)


class LockHeldError(Exception):
    """Another run holds the lock."""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RunLockHandle:
    def __init__(self, name: str, run: ImportRun | None) -> None:
        self.name = name
        self.owner = this_process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.taken_over_from: str | None = None
        now = timezone.now()
        try:
            with transaction.atomic():
                held = RunLock.objects.select_for_update().filter(name=name).first()
                if held is not None:
                    stale = now - held.heartbeat_at > STALE_AFTER
                    if not (stale or owner_is_dead(held.owner)):
                        since = timezone.localtime(held.acquired_at)
                        # An import's lock names its run; relink, rollback,
                        # refresh and verify hold it with none.
                        what = (
                            f"another import is running (run {held.run_id}"
                            if held.run_id
                            else "another migration command is running (relink, "
                            "rollback, refresh or verify"
                        )
                        raise LockHeldError(
                            f"{what}, {held.owner}, since "
                            f"{since:%Y-%m-%d %H:%M:%S}); wait for it to finish"
                        )
                    self.taken_over_from = held.owner
                    held.delete()
                RunLock.objects.create(
                    name=name,
                    run=run,
                    owner=self.owner,
                    acquired_at=now,
                    heartbeat_at=now,
                )
        except IntegrityError as exc:
            raise LockHeldError("another import started at the same moment") from exc

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="runlock", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                RunLock.objects.filter(name=self.name, owner=self.owner).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connections.close_all()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        RunLock.objects.filter(name=self.name, owner=self.owner).delete()
