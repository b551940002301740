"""Where the commands that change what an import made (relink, rollback) work:
FileMaker and S3, under the import's run lock so no import runs alongside."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.conf import object_store
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.fields import ImageFields
from filemaker_migration.management.ready import ready_to_run
from filemaker_migration.pipeline import LOCK_NAME
from filemaker_migration.runlock import LockHeldError
from filemaker_migration.runlock import RunLockHandle
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreError

Operation = TypeVar("Operation")


@contextmanager
def locked_operation(
    operation: Callable[[DataAPIClient, str, ImageFields, ObjectStore], Operation],
    to_resume: str,
) -> Iterator[Operation]:
    """`operation` (Relinker, Rollback) on the images layout, FileMaker and
    S3, for the body; the run lock is held until the body ends.

    Any failure ends the command in one line: the project not ready or an
    import holding the lock, as it is; FileMaker or S3 failing part way, with
    `to_resume` (what finishes the job), since the work is left half done.
    """
    try:
        ready_to_run()  # settings, target, database: one line each
        fm = FileMakerSettings.from_settings()
        store = object_store()
        lock = RunLockHandle(LOCK_NAME, None)
    except (ImproperlyConfigured, LockHeldError) as exc:
        raise CommandError(str(exc)) from exc
    try:
        with fm.client(max_concurrency=2) as client:
            yield operation(client, fm.layout, fm.image_fields, store)
    except (DataAPIError, StoreError) as exc:
        raise CommandError(f"{exc}; {to_resume}") from exc
    finally:
        lock.release()
