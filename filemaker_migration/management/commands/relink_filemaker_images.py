"""Give unlinked images whose patient now exists to that patient."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.conf import object_store
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.management.ready import ready_to_run
from filemaker_migration.operations import Relinker
from filemaker_migration.pipeline import LOCK_NAME
from filemaker_migration.runlock import LockHeldError
from filemaker_migration.runlock import RunLockHandle
from filemaker_migration.s3store import StoreError


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        try:
            ready_to_run()  # settings, target, database: one line each
            fm = FileMakerSettings.from_settings()
            store = object_store()
            lock = RunLockHandle(LOCK_NAME, None)
        except (ImproperlyConfigured, LockHeldError) as exc:
            raise CommandError(str(exc)) from exc
        try:
            with fm.client(max_concurrency=2) as client:
                result = Relinker(client, fm.layout, fm.image_fields, store).run()
        except (DataAPIError, StoreError) as exc:
            raise CommandError(f"{exc}; running relink again resumes") from exc
        finally:
            lock.release()
        self.stdout.write(
            f"relinked {len(result.relinked)}, still unlinked "
            f"{result.still_unlinked}, batches created {result.batches_created}"
        )
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} image(s) not relinked: "
                + "; ".join(f"{k}: {v}" for k, v in result.failed.items())
                + ". Running relink again retries them."
            )
