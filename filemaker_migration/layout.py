"""Is a layout ready to import: the fields the import needs, and which it lacks.

One rule for the import's own check before a run and for `inspect` (no Django).
"""

from __future__ import annotations

from dataclasses import dataclass

from filemaker_migration.dataapi import FieldMeta
from filemaker_migration.fields import ImageFields


@dataclass(frozen=True)
class LayoutReadiness:
    """Which fields the import needs and which of them the layout lacks."""

    missing_required: list[str]
    missing_optional: list[str]
    containers_present: list[str]

    @property
    def ready(self) -> bool:
        return not self.missing_required


def layout_readiness(
    layout_fields: dict[str, FieldMeta], fields: ImageFields
) -> LayoutReadiness:
    required = [
        fields.id,
        fields.contact_id,
        fields.date,
        fields.type,
        fields.export_date,
        fields.recid,
    ]
    missing = [name for name in required if name not in layout_fields]
    containers = [c for c in fields.containers if c in layout_fields]
    if not containers:
        missing.append(" / ".join(fields.containers))
    optional = [
        fields.md5,
        fields.receipt_key,
        fields.receipt_sha256,
        fields.filename,
        fields.modified_at,
    ]
    return LayoutReadiness(
        missing_required=missing,
        missing_optional=[name for name in optional if name not in layout_fields],
        containers_present=containers,
    )
