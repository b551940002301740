"""Undo an import run (or all of them): dry run unless --yes."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser

from filemaker_migration.management.locked import locked_operation
from filemaker_migration.models import ImportRun
from filemaker_migration.operations import Rollback
from filemaker_migration.operations import entries_for


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--run", type=int, help="the import run to undo")
        which.add_argument("--all", action="store_true", help="undo every run")
        parser.add_argument(
            "--yes", action="store_true", help="really remove (default: dry run)"
        )

    def handle(self, *args, **options) -> None:
        run_id = options["run"]
        if run_id is not None and not ImportRun.objects.filter(pk=run_id).exists():
            raise CommandError(f"no import run {run_id}")
        to_resume = "run the rollback again to finish the job"
        with locked_operation(Rollback, to_resume) as rollback:
            entries = entries_for(run_id)
            if not options["yes"]:
                result = rollback.plan(entries)
            else:
                result = rollback.apply(entries)
        totals = result.as_json()
        if not result.applied:
            for p in result.planned:
                self.stdout.write(
                    f"record {p.record_id} {p.filemaker_id} ({p.state}): "
                    f"{len(p.s3_keys)} key(s), image {'yes' if p.image else 'no'}"
                    f"{', batch ' + p.batch if p.batch else ''}"
                )
            self.stdout.write(
                f"would remove {totals['entries']} ledger entries, "
                f"{totals['images']} image(s), {totals['batches']} batch(es) and "
                f"{totals['objects']} object(s), and clear NexusExportDate on "
                "those records. Run again with --yes to do it."
            )
            return
        summary = (
            f"rolled back {totals['entries_removed']} ledger entries: "
            f"{totals['filemaker_cleared']} FileMaker record(s) cleared, "
            f"{totals['images_deleted']} image(s), "
            f"{totals['batches_deleted']} batch(es), "
            f"{totals['objects_deleted']} object(s) removed"
        )
        style = self.style.WARNING if result.failed else self.style.SUCCESS
        self.stdout.write(style(summary))
        if result.failed:
            # Their objects are still in S3 and their entries still in the
            # ledger (with the keys), so the same command finishes them.
            raise CommandError(
                f"{len(result.failed)} image(s) not rolled back, their objects "
                "kept: "
                + "; ".join(f"{k}: {v}" for k, v in result.failed.items())
                + ". Fix what S3 reports and run the rollback again to finish "
                "the job."
            )
