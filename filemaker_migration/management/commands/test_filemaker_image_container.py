"""Download one record's best container and check it (the plan's Phase 5)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.management.ready import ready_to_run
from filemaker_migration.operations import ProbeError
from filemaker_migration.operations import probe_container


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--record-id",
            help="FileMaker recordId to test (default: the first with a container)",
        )

    def handle(self, *args, **options) -> None:
        try:
            ready_to_run()  # settings, target, database: one line each
            fm = FileMakerSettings.from_settings()
            with fm.client(max_concurrency=2) as client:
                found = probe_container(
                    client, fm.layout, fm.image_fields, record_id=options["record_id"]
                )
        except (ImproperlyConfigured, DataAPIError, ProbeError) as exc:
            raise CommandError(str(exc)) from exc
        size = f"{found.width}x{found.height}" if found.width else "not decoded here"
        passed = [t for t in found.fields_tried if t["result"] != "used"]
        self.stdout.write(
            "\n".join(
                [
                    f"record        {found.record_id} ({found.filemaker_id})",
                    f"field used    {found.field}",
                    f"size          {found.size} bytes",
                    f"type          {found.content_type} (.{found.extension})",
                    f"dimensions    {size}",
                    f"sha256        {found.sha256}",
                    *(f"passed over   {t['field']}: {t['result']}" for t in passed),
                    "server behaviours met (docs/filemaker-integration.md):",
                    *(f"  {name}: {what}" for name, what in found.behaviours),
                ]
            )
        )
        self.stdout.write(self.style.SUCCESS("container download OK"))
