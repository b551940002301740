"""FileMaker contacts -> the clinic's patients, through the target (idempotent;
keyed by the contact UUID)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field

from django.db import transaction

from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import RecordMissingError
from filemaker_migration.dataapi import parse_date
from filemaker_migration.fields import ContactFields
from filemaker_migration.keys import canonical_uuid
from filemaker_migration.source import clean_text
from filemaker_migration.targets import PatientFacts
from filemaker_migration.targets import RowRefusedError
from filemaker_migration.targets import get_target


@dataclass
class PatientImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    # Contacts the clinic's patient model refused, by what it refused (the
    # FileMaker field and the model field, never a value): nothing written.
    refused: Counter[str] = field(default_factory=Counter)


def _refused(exc: RowRefusedError, f: ContactFields) -> str:
    source = {
        "first_name": f.first_name,
        "last_name": f.last_name,
        "date_of_birth": f.date_of_birth,
        "contact_id": f.id,
    }.get(exc.refusal.fact, exc.refusal.fact)
    return f"FileMaker's {source!r} into {exc.refusal}"


def import_patients(
    client: DataAPIClient, fm: FileMakerSettings, *, page_size: int = 500
) -> PatientImportResult:
    """Page the contacts layout (read-only, so offset paging is stable here)."""
    f = fm.contact_fields
    target = get_target()
    result = PatientImportResult()
    offset = 1
    sort = [{"fieldName": f.id, "sortOrder": "ascend"}]
    while True:
        try:
            page = client.get_records(
                fm.contacts_layout, offset=offset, limit=page_size, sort=sort
            )
        except RecordMissingError:  # FileMaker's answer to an empty range
            break
        with transaction.atomic():
            for record in page.records:
                contact_id = canonical_uuid(record.get(f.id))
                if contact_id is None:
                    result.invalid += 1
                    continue
                facts = PatientFacts(
                    contact_id=contact_id,
                    first_name=clean_text(record.get(f.first_name), 100),
                    last_name=clean_text(record.get(f.last_name), 100),
                    date_of_birth=parse_date(record.get(f.date_of_birth)),
                )
                try:
                    outcome = target.save_patient(facts)
                except RowRefusedError as exc:
                    result.refused[_refused(exc, f)] += 1
                    continue
                setattr(result, outcome, getattr(result, outcome) + 1)
        if len(page.records) < page_size:
            break
        offset += page_size
    return result
