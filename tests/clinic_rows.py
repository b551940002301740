"""The clinic's rows, read and changed only through the configured target.

The suite runs once against the reference clinic (config.settings) and once
against the generic clinic app (tests.generic_clinic.settings); tests that
look at or plant faults in the clinic's tables go through these helpers, so
both runs assert the same things.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models

from filemaker_migration.models import LedgerEntry
from filemaker_migration.targets import BatchRow
from filemaker_migration.targets import ImageRow
from filemaker_migration.targets import PatientFacts
from filemaker_migration.targets import get_target


def image_rows() -> list[ImageRow]:
    return list(get_target().images())


def batch_rows() -> list[BatchRow]:
    return list(get_target().batches())


def image_of(entry: LedgerEntry) -> ImageRow | None:
    return get_target().image(entry.image_ref) if entry.image_ref else None


def add_patient(contact_id: str, last_name: str = "Added later") -> None:
    get_target().save_patient(
        PatientFacts(
            contact_id=contact_id,
            first_name="Added",  # the generic app requires names
            last_name=last_name,
            date_of_birth=None,
        )
    )


def clinic_model(role: str) -> type[models.Model]:
    """The clinic's "patient", "batch" or "image" model (TEST_CLINIC_MODELS)."""
    return apps.get_model(settings.TEST_CLINIC_MODELS[role])
