"""Import FileMaker contacts (API_Contacts) as Patients; safe to run again."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.management.ready import ready_to_run
from filemaker_migration.operations import import_patients


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--page-size",
            type=int,
            default=500,
            help="contacts read from FileMaker per request (default 500)",
        )

    def handle(self, *args, **options) -> None:
        try:
            ready_to_run()  # settings, target, database: one line each
            fm = FileMakerSettings.from_settings()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        try:
            with fm.client(max_concurrency=2) as client:
                result = import_patients(client, fm, page_size=options["page_size"])
        except DataAPIError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Patients: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.invalid} without a valid id, "
            f"{result.refused.total()} refused by the patient model"
        )
        for what, count in sorted(result.refused.items()):
            # Their images stay unlinked until the contact is corrected in
            # FileMaker (or the target's empty_name option fills the name).
            self.stdout.write(f"  {count} refused: {what}")
