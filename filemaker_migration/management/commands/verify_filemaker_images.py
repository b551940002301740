"""Reconcile FileMaker, the database and S3; exit non-zero on any disagreement.

Verify holds the import's run lock while it reads: an import writing at the
same time would make it see a record exported in FileMaker whose row is not
yet committed, and report a disagreement that is not one. So it refuses to
start while an import (or relink, rollback) runs, and no import starts while
it reads."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.conf import object_store
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.management.ready import ready_to_run
from filemaker_migration.operations import Verifier
from filemaker_migration.pipeline import LOCK_NAME
from filemaker_migration.runlock import LockHeldError
from filemaker_migration.runlock import RunLockHandle
from filemaker_migration.s3store import StoreError

SHOWN = 20  # disagreements printed; the reports hold them all


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--deep",
            action="store_true",
            help="re-read the bytes from S3 and FileMaker and hash them",
        )
        parser.add_argument("--json", type=Path, help="write the JSON report here")
        parser.add_argument("--csv", type=Path, help="write the CSV report here")

    def handle(self, *args, **options) -> None:
        try:
            ready_to_run()  # settings, target, database: one line each
            fm = FileMakerSettings.from_settings()
            store = object_store()
            lock = RunLockHandle(LOCK_NAME, None)
        except (ImproperlyConfigured, LockHeldError) as exc:
            raise CommandError(str(exc)) from exc
        try:
            with fm.client(max_concurrency=8) as client:
                result = Verifier(
                    client, fm.layout, fm.image_fields, store, deep=options["deep"]
                ).run()
        except (DataAPIError, StoreError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            lock.release()
        if options["json"]:
            result.write_json(options["json"])
        if options["csv"]:
            result.write_csv(options["csv"])
        for f in result.problems[:SHOWN]:
            where = f"record {f.record_id}" if f.record_id else f.s3_key
            self.stdout.write(f"{f.category:<22} {f.side:<9} {where}: {f.detail}")
        if len(result.problems) > SHOWN:
            self.stdout.write(f"... and {len(result.problems) - SHOWN} more")
        # FileMaker's licence caps what the Data API sends (error 953 beyond).
        self.stdout.write(
            f"received from FileMaker: {result.filemaker_bytes / 1e6:,.1f} MB"
        )
        if not result.clean:
            raise CommandError(result.verdict())
        self.stdout.write(self.style.SUCCESS(result.verdict()))
