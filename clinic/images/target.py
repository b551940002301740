"""The reference clinic's target: its Patient, ImageBatch and Image models.

Selected in config/settings.py by

    FILEMAKER_MIGRATION_TARGET = {"BACKEND": "clinic.images.target.ReferenceTarget"}

Every fact the import knows has a column here, so nothing is kept only in the
ledger. The batch table carries its own unique constraints on (patient, date)
for imported batches, on top of the migration's VisitBatch map.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from django.db.models import Count

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.images.models import ImportSource
from clinic.patients.models import Patient
from filemaker_migration.targets import BatchRow
from filemaker_migration.targets import ImageFacts
from filemaker_migration.targets import ImageRow
from filemaker_migration.targets import PatientFacts
from filemaker_migration.targets import Refusal
from filemaker_migration.targets import RowRefusedError
from filemaker_migration.targets import refusal_of

# ImageFacts name -> Image column, where they differ (the Type is stored twice:
# as the category the app shows and as the plan's filemaker_type).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "size": ("file_size",),
    "image_type": ("category", "filemaker_type"),
    "image_date": ("filemaker_date",),
    "order": (),  # Image orders by category and upload time
}


def batch_name(date: dt.date | None) -> str:
    if date is None:
        return "Unknown date (FileMaker Import)"
    return f"{date.day} {date:%b %Y} (FileMaker Import)"


def _columns(changes: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for fact, value in changes.items():
        for column in _COLUMNS.get(fact, (fact,)):
            columns[column] = uuid.UUID(value) if column == "filemaker_id" else value
    return columns


def _checked(facts: Iterable[str]) -> dict[str, str]:
    """Image column -> the fact it holds, for the facts given."""
    return {column: fact for fact in facts for column in _COLUMNS.get(fact, (fact,))}


def _refused(row: Image | Patient, checked: dict[str, str]) -> None:
    if refused := refusal_of(row, checked):
        raise RowRefusedError(refused)


class ReferenceTarget:
    def patients_by_contact(self, contact_ids: Iterable[str]) -> dict[str, str]:
        wanted = {contact_id.upper() for contact_id in contact_ids if contact_id}
        rows = Patient.objects.filter(filemaker_id__in=wanted).values_list(
            "filemaker_id", "pk"
        )
        return {contact.upper(): str(pk) for contact, pk in rows}

    def contact_ids(self) -> set[str]:
        return {
            contact.upper()
            for contact in Patient.objects.exclude(filemaker_id=None).values_list(
                "filemaker_id", flat=True
            )
        }

    def save_patient(self, patient: PatientFacts) -> str:
        values = {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "date_of_birth": patient.date_of_birth,
        }
        row = Patient.objects.filter(filemaker_id=patient.contact_id).first()
        created = row is None
        if row is None:
            row = Patient(filemaker_id=patient.contact_id)
        elif all(getattr(row, k) == v for k, v in values.items()):
            return "unchanged"
        for key, value in values.items():
            setattr(row, key, value)
        _refused(row, {key: key for key in values})
        row.save()
        return "created" if created else "updated"

    def create_batch(self, patient_ref: str, date: dt.date | None) -> str:
        batch = ImageBatch.objects.create(
            patient_id=uuid.UUID(patient_ref),
            captured_date=date,
            batch_name=batch_name(date),
            import_source=ImportSource.FILEMAKER_IMPORT,
        )
        return str(batch.pk)

    def delete_batch(self, batch_ref: str) -> None:
        ImageBatch.objects.filter(pk=batch_ref).delete()

    def batch_image_count(self, batch_ref: str) -> int:
        return Image.objects.filter(batch_id=batch_ref).count()

    def refusal(self, facts: dict[str, Any]) -> Refusal | None:
        try:
            image = Image(**_columns(facts))
        except ValueError:  # not a UUID: the id field's own words below
            image = Image(filemaker_id=facts.get("filemaker_id"))
        return refusal_of(image, _checked(facts))

    def create_image(self, batch_ref: str, facts: ImageFacts) -> str:
        image = Image(batch_id=uuid.UUID(batch_ref), **_columns(facts.__dict__))
        _refused(image, _checked(facts.__dict__))
        image.save(force_insert=True)
        return str(image.pk)

    def update_image(self, image_ref: str, changes: dict[str, Any]) -> None:
        Image.objects.filter(pk=image_ref).update(**_columns(changes))

    def delete_image(self, image_ref: str) -> None:
        Image.objects.filter(pk=image_ref).delete()

    def image(self, image_ref: str) -> ImageRow | None:
        image = Image.objects.filter(pk=image_ref).first()
        return None if image is None else _row(image)

    def images(self) -> Iterator[ImageRow]:
        for image in Image.objects.order_by("pk").iterator(chunk_size=2000):
            yield _row(image)

    def batches(self) -> Iterator[BatchRow]:
        rows = ImageBatch.objects.filter(
            import_source=ImportSource.FILEMAKER_IMPORT
        ).annotate(count=Count("images"))
        for batch in rows.order_by("pk"):
            yield BatchRow(
                ref=str(batch.pk),
                patient_ref=str(batch.patient_id),
                name=batch.batch_name,
                image_count=batch.count,
            )


def _row(image: Image) -> ImageRow:
    return ImageRow(
        ref=str(image.pk),
        batch_ref=str(image.batch_id),
        s3_key=image.s3_key,
        filemaker_id=str(image.filemaker_id).upper() if image.filemaker_id else None,
        size=image.file_size,
        sha256=image.sha256,
        image_type=image.category,
    )
