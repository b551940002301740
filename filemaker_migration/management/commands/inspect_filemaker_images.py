"""Metadata discovery of the images layout: fields, counts, and is it ready."""

from __future__ import annotations

import json

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.management.ready import ready_to_run
from filemaker_migration.operations import Discovery
from filemaker_migration.operations import discover


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options) -> None:
        try:
            ready_to_run()  # settings, target, database: one line each
            fm = FileMakerSettings.from_settings()
            with fm.client(max_concurrency=2) as client:
                found = discover(client, fm.layout, fm.image_fields)
        except (ImproperlyConfigured, DataAPIError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(found.as_json(), indent=2))
        else:
            self.stdout.write(format_discovery(found))
        if not found.readiness.ready:
            raise CommandError(
                f"layout {found.layout!r} is not ready: place "
                f"{', '.join(found.readiness.missing_required)} on it "
                "(see docs/run-book.md, Preparing FileMaker)"
            )


def format_discovery(d: Discovery) -> str:
    lines = [f"layout {d.layout}: {len(d.fields)} field(s)"]
    width = max((len(name) for name in d.fields), default=0)
    lines += [f"  {name:<{width}}  {kind}" for name, kind in d.fields.items()]
    ready = d.readiness
    lines.append(
        "ready: yes"
        if ready.ready
        else f"ready: NO, missing {', '.join(ready.missing_required)}"
    )
    if ready.missing_optional:
        lines.append(f"optional fields absent: {', '.join(ready.missing_optional)}")
    share = f"{d.no_container_share:.1%}"
    lines += [
        f"records                    {d.records}",
        f"already exported           {d.exported}",
        f"no container at all        {d.no_container} ({share})",
        f"date empty                 {d.date_empty}",
        f"date not a date            {d.date_unreadable}",
        f"id not a UUID              {d.invalid_id}",
        f"contacts not among patients {d.contacts_missing} "
        f"({d.records_contact_missing} record(s))",
        "records per Type:",
    ]
    lines += [f"  {count:>6}  {name}" for name, count in sorted(d.per_type.items())]
    lines.append("container fields filled:")
    for name, count in d.container_filled.items():
        pct = count / d.records if d.records else 0.0
        lines.append(f"  {count:>6}  {pct:6.1%}  {name}")
    by_reference = {n: c for n, c in d.container_by_reference.items() if c}
    if by_reference:
        lines.append(
            "containers stored by reference (a file path, not data FileMaker "
            "can send; the import skips these records: embed the files first):"
        )
        lines += [f"  {count:>6}  {name}" for name, count in by_reference.items()]
        lines.append(
            f"  {d.records_by_reference:>6}  record(s) whose best container is one"
        )
    lines.append(d.transfer.describe())
    return "\n".join(lines)
