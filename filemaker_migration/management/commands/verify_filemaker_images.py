"""Reconcile FileMaker, the database and S3; exit non-zero on any disagreement.

Verify holds the import's run lock while it reads: an import writing at the
same time would make it see a record exported in FileMaker whose row is not
yet committed, and report a disagreement that is not one. So it refuses to
start while an import (or relink, rollback) runs, and no import starts while
it reads."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.conf import object_store
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.management.ready import ready_to_run
from filemaker_migration.operations import Repairer
from filemaker_migration.operations import Verification
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
        parser.add_argument(
            "--repair",
            action="store_true",
            help="say how each finding would be repaired (add --yes to repair)",
        )
        parser.add_argument(
            "--yes",
            action="store_true",
            help="with --repair: repair, then verify again",
        )

    def handle(self, *args, **options) -> None:
        if options["yes"] and not options["repair"]:
            raise CommandError("--yes goes with --repair")
        try:
            ready_to_run()  # settings, target, database: one line each
            fm = FileMakerSettings.from_settings()
            store = object_store()
            lock = RunLockHandle(LOCK_NAME, None)
        except (ImproperlyConfigured, LockHeldError) as exc:
            raise CommandError(str(exc)) from exc
        try:
            with fm.client(max_concurrency=8) as client:
                verifier = Verifier(
                    client, fm.layout, fm.image_fields, store, deep=options["deep"]
                )
                result = verifier.run()
                self._report(result, options)
                if options["repair"] and not result.clean:
                    repairer = Repairer(client, fm.layout, fm.image_fields, store)
                    steps = repairer.run(repairer.plan(result), act=options["yes"])
                    self._tell(steps, options["yes"], options["json"])
                    if options["yes"]:
                        result = verifier.run()
                        self._report(result, {})
        except (DataAPIError, StoreError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            lock.release()
        if not result.clean:
            if not options["repair"]:
                self.stdout.write(
                    "to repair: verify_filemaker_images --repair (says what it "
                    "would do), then --repair --yes"
                )
            raise CommandError(result.verdict())
        self.stdout.write(self.style.SUCCESS(result.verdict()))

    def _report(self, result: Verification, options: dict) -> None:
        if options.get("json"):
            result.write_json(options["json"])
        if options.get("csv"):
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

    def _tell(self, steps: list, acted: bool, json_path: Path | None) -> None:
        """Each repair, as planned or as done; with --json, beside the report."""
        for step in steps:
            where = f"record {step.record_id}" if step.record_id else step.s3_key
            status = step.outcome if acted else "would"
            line = f"repair {status:<14} {step.category:<20} {where}: {step.action}"
            self.stdout.write(line + (f" ({step.detail})" if step.detail else ""))
        if json_path:
            repairs = json_path.with_name(f"{json_path.stem}-repairs.json")
            repairs.write_text(
                json.dumps([step.as_dict() for step in steps], indent=2) + "\n"
            )
        done = sum(step.outcome == "repaired" for step in steps)
        if acted:
            self.stdout.write(f"repaired {done} of {len(steps)}; verifying again")
        else:
            self.stdout.write("nothing changed: add --yes to repair")
