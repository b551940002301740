"""What the configurable target writes into a clinic app of another shape.

Runs in the suite's second pass (DJANGO_SETTINGS_MODULE=tests.generic_clinic.
settings, see scripts/test.sh); the shared suites already hold this app to the
same oracle as the reference clinic, these are the app's own shapes: the JSON
contact id, the generic owner, the kept counter, FileMaker's record order.
"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from tests.generic_clinic.records.models import Image
from tests.generic_clinic.records.models import ImageBatch
from tests.generic_clinic.records.models import Patient
from tests.operations.helpers import add_missing_patients
from tests.operations.helpers import command
from tests.operations.helpers import import_patients
from tests.operations.helpers import run_import
from tests.operations.helpers import verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def imported(migration_env, emulator):
    import_patients()
    run_import("--workers", "8")
    return migration_env


def assert_counters_kept() -> None:
    for batch in ImageBatch.objects.all():
        assert batch.image_count == batch.images.count(), batch.name


def test_rows_take_the_apps_own_shape(imported):
    patient_type = ContentType.objects.get_for_model(Patient)
    entries = {e.image_ref: e for e in LedgerEntry.objects.exclude(image_ref="")}
    images = list(Image.objects.select_related("batch"))
    assert len(images) == len(entries) > 0
    for image in images:
        entry = entries[str(image.pk)]
        batch = image.batch
        assert batch.content_type == patient_type
        owner = Patient.objects.get(pk=batch.object_id)
        assert owner.filemaker_metadata["filemaker_id"] == entry.contact_id
        assert image.filemaker_id == entry.filemaker_id
        assert image.order == int(entry.record_id)
        assert (image.original_name, image.mime_type, image.category) == (
            entry.original_filename,
            entry.content_type,
            entry.image_type,
        )
        assert image.date_taken == entry.image_date
        assert image.s3_thumbnail_key == entry.thumbnail_key != ""
    assert_counters_kept()


def test_patients_keep_the_other_keys_of_their_json(imported):
    patient = Patient.objects.first()
    patient.filemaker_metadata["imported_by"] = "front desk"
    patient.save()

    import_patients()  # a second pass over the contacts changes nothing else

    patient.refresh_from_db()
    assert patient.filemaker_metadata["imported_by"] == "front desk"
    assert patient.filemaker_metadata["filemaker_id"]


def test_counters_follow_relink_and_rollback(imported, emulator):
    add_missing_patients(emulator.dataset)
    command("relink_filemaker_images")
    assert not LedgerEntry.objects.filter(state=State.IMPORTED_UNLINKED).exists()
    assert_counters_kept()

    command("rollback_filemaker_images", "--all", "--yes")
    assert not Image.objects.exists()
    assert not ImageBatch.objects.exists()
    assert "CLEAN" in verify()
