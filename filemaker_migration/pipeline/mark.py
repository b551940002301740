"""Telling FileMaker a record is exported: NexusExportDate, plus receipts."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import FieldMeta
from filemaker_migration.dataapi import format_date
from filemaker_migration.dataapi import format_timestamp
from filemaker_migration.fields import ImageFields
from filemaker_migration.models import LedgerEntry


def export_values(
    entry: LedgerEntry, fields: ImageFields, layout_fields: dict[str, FieldMeta]
) -> dict[str, Any]:
    """The write-back for one record, shaped by the layout's field types."""
    now = timezone.localtime()
    result = layout_fields[fields.export_date].result
    if result == "timeStamp":
        stamp: str = format_timestamp(now.replace(tzinfo=None))
    elif result == "date":
        stamp = format_date(now.date())
    else:
        stamp = now.isoformat(timespec="seconds")
    values: dict[str, Any] = {fields.export_date: stamp}
    # Receipt fields are optional: written only where the layout shows them.
    if fields.receipt_key in layout_fields:
        values[fields.receipt_key] = entry.s3_key
    if fields.receipt_sha256 in layout_fields:
        values[fields.receipt_sha256] = entry.sha256
    return values


def mark_exported(
    client: DataAPIClient,
    layout: str,
    entry: LedgerEntry,
    fields: ImageFields,
    layout_fields: dict[str, FieldMeta],
) -> str:
    """Write the export marker; returns the record's new modId."""
    return client.edit_record(
        layout, entry.record_id, export_values(entry, fields, layout_fields)
    )
