"""FileMaker contacts -> Patient rows (idempotent; keyed by the contact UUID)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from clinic.filemaker.dataapi import DataAPIClient
from clinic.filemaker.dataapi import RecordMissingError
from clinic.filemaker.dataapi import parse_date
from clinic.filemaker.pipeline.config import FileMakerSettings
from clinic.filemaker.pipeline.keys import canonical_uuid
from clinic.filemaker.pipeline.source import clean_text
from clinic.patients.models import Patient


@dataclass
class PatientImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0


def import_patients(
    client: DataAPIClient, fm: FileMakerSettings, *, page_size: int = 500
) -> PatientImportResult:
    """Page the contacts layout (read-only, so offset paging is stable here)."""
    f = fm.contact_fields
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
                values = {
                    "first_name": clean_text(record.get(f.first_name), 100),
                    "last_name": clean_text(record.get(f.last_name), 100),
                    "date_of_birth": parse_date(record.get(f.date_of_birth)),
                }
                patient = Patient.objects.filter(filemaker_id=contact_id).first()
                if patient is None:
                    Patient.objects.create(filemaker_id=contact_id, **values)
                    result.created += 1
                elif any(getattr(patient, k) != v for k, v in values.items()):
                    for key, value in values.items():
                        setattr(patient, key, value)
                    patient.save()
                    result.updated += 1
                else:
                    result.unchanged += 1
        if len(page.records) < page_size:
            break
        offset += page_size
    return result
