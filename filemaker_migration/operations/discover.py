"""Metadata discovery: what the images layout holds, and is it ready to import.

The plan's first step, read-only: the layout's fields and their types, whether
every field the import needs is on it, and counts over all records (exported
already, per Type, per container field, no container at all, dates empty and
dates that are not dates, contacts not among the patients).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import is_streamable
from filemaker_migration.dataapi import parse_date
from filemaker_migration.fields import ImageFields
from filemaker_migration.keys import canonical_uuid
from filemaker_migration.layout import LayoutReadiness
from filemaker_migration.layout import layout_readiness
from filemaker_migration.operations.records import iter_records
from filemaker_migration.operations.transfer import Estimator
from filemaker_migration.operations.transfer import TransferEstimate
from filemaker_migration.source import unreadable_date
from filemaker_migration.targets import get_target


@dataclass
class Discovery:
    layout: str
    fields: dict[str, str]  # name -> result type (text, date, container...)
    readiness: LayoutReadiness
    records: int = 0
    exported: int = 0
    per_type: Counter[str] = field(default_factory=Counter)
    container_filled: Counter[str] = field(default_factory=Counter)
    # Containers holding a file path (stored by reference): not importable.
    container_by_reference: Counter[str] = field(default_factory=Counter)
    records_by_reference: int = 0  # whose first filled container is one
    transfer: TransferEstimate = field(default_factory=TransferEstimate)
    no_container: int = 0
    date_empty: int = 0
    # Filled, but not a date ("13/45/2020"): imported under unknown-date like
    # an empty one, with the text kept in the ledger and the report.
    date_unreadable: int = 0
    invalid_id: int = 0
    contacts_missing: int = 0  # distinct contact ids not among the patients
    records_contact_missing: int = 0

    @property
    def no_container_share(self) -> float:
        return self.no_container / self.records if self.records else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "ready": self.readiness.ready,
            "missing_required_fields": self.readiness.missing_required,
            "missing_optional_fields": self.readiness.missing_optional,
            "fields": self.fields,
            "records": self.records,
            "exported": self.exported,
            "per_type": dict(sorted(self.per_type.items())),
            "container_filled": dict(self.container_filled),
            "container_by_reference": dict(self.container_by_reference),
            "records_by_reference": self.records_by_reference,
            "transfer_estimate": self.transfer.as_json(),
            "no_container": self.no_container,
            "no_container_share": round(self.no_container_share, 4),
            "date_empty": self.date_empty,
            "date_unreadable": self.date_unreadable,
            "invalid_id": self.invalid_id,
            "contacts_not_found": self.contacts_missing,
            "records_with_contact_not_found": self.records_contact_missing,
        }


def discover(
    client: DataAPIClient, layout: str, fields: ImageFields, *, page_size: int = 1000
) -> Discovery:
    layout_fields = client.layout_fields(layout)
    result = Discovery(
        layout=layout,
        fields={name: meta.result for name, meta in layout_fields.items()},
        readiness=layout_readiness(layout_fields, fields),
    )
    watched = [
        *fields.containers,
        *([fields.thumbnail] if fields.thumbnail in layout_fields else []),
    ]
    result.container_filled.update(dict.fromkeys(watched, 0))
    result.container_by_reference.update(dict.fromkeys(watched, 0))
    estimator = Estimator(fields, set(layout_fields))
    per_contact: Counter[str] = Counter()
    for record in iter_records(client, layout, page_size=page_size):
        data = record.field_data
        result.records += 1
        estimator.add(record)
        if str(data.get(fields.export_date, "")).strip():
            result.exported += 1
        result.per_type[str(data.get(fields.type, "")).strip() or "(empty)"] += 1
        present = {n: str(data.get(n, "")).strip() for n in watched}
        present = {n: value for n, value in present.items() if value}
        filled = [n for n, value in present.items() if is_streamable(value)]
        result.container_filled.update(filled)
        result.container_by_reference.update(set(present) - set(filled))
        first = next((n for n in fields.containers if n in present), None)
        if first is None:
            result.no_container += 1
        elif first not in filled:
            result.records_by_reference += 1
        if unreadable_date(data.get(fields.date, "")):
            result.date_unreadable += 1
        elif parse_date(data.get(fields.date, "")) is None:
            result.date_empty += 1
        if canonical_uuid(data.get(fields.id, "")) is None:
            result.invalid_id += 1
        contact = str(data.get(fields.contact_id, "")).strip()
        per_contact[canonical_uuid(contact) or contact.upper()] += 1
    result.transfer = estimator.finish(client, layout, result.records)
    known = get_target().contact_ids()
    missing = [c for c in per_contact if c not in known]
    result.contacts_missing = len(missing)
    result.records_contact_missing = sum(per_contact[c] for c in missing)
    return result
