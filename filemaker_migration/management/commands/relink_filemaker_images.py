"""Give unlinked images whose patient now exists to that patient."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.core.management.base import CommandError

from filemaker_migration.management.locked import locked_operation
from filemaker_migration.operations import Relinker


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        with locked_operation(Relinker, "running relink again resumes") as relinker:
            result = relinker.run()
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
