"""What the configurable target writes into a clinic app of another shape.

Runs in the suite's second pass (DJANGO_SETTINGS_MODULE=tests.generic_clinic.
settings, see scripts/test.sh); the shared suites already hold this app to the
same oracle as the reference clinic, these are the app's own shapes: UUID keys,
the JSON contact id, the generic owner, FileMaker's record order, required
names, and the app's own `save()`/`delete()` that recount the batch, which
only ends right when the migration serializes the writes into a batch (in
scripts/test.sh's PostgreSQL pass with two worker processes of 16 threads).
"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import CommandError
from django.db.models import F

from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import State
from tests.generic_clinic.records.models import Image
from tests.generic_clinic.records.models import ImageBatch
from tests.generic_clinic.records.models import Patient
from tests.operations.helpers import add_missing_patients
from tests.operations.helpers import command
from tests.operations.helpers import fm_client
from tests.operations.helpers import import_patients
from tests.operations.helpers import run_import
from tests.operations.helpers import verify
from tests.pipeline.checks import expected_records

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def imported(migration_env, emulator):
    import_patients()
    # 16 threads in each worker process: many writers into the same batches.
    run_import("--workers", "16")
    return migration_env


def assert_counters_kept() -> None:
    batches = list(ImageBatch.objects.all())
    assert batches
    for batch in batches:
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
        assert str(image.filemaker_id).upper() == entry.filemaker_id
        assert image.order == int(entry.record_id)
        assert (image.original_name, image.mime_type, image.category) == (
            entry.original_filename,
            entry.content_type,
            entry.image_type,
        )
        assert image.date_taken == entry.image_date
        assert image.s3_thumbnail_key == entry.thumbnail_key != ""
    assert_counters_kept()


def test_the_apps_own_recount_is_right_and_verify_holds_it_to_the_rows(imported):
    assert_counters_kept()
    assert "CLEAN" in verify()

    # The app's count goes wrong (a bug of its own, a hand edit): verify says so.
    batch = ImageBatch.objects.first()
    ImageBatch.objects.filter(pk=batch.pk).update(image_count=F("image_count") + 1)
    with pytest.raises(CommandError, match="1 wrong count"):
        verify()

    # ... and its repair sets it to the rows.
    out = verify("--repair", "--yes")
    assert "repair repaired       wrong_count" in out
    assert out.splitlines()[-1].startswith("CLEAN")
    assert_counters_kept()


def test_counts_stay_right_after_a_refresh(imported):
    entry = LedgerEntry.objects.filter(state=State.IMPORTED).first()
    fm, client = fm_client()
    with client:
        client.edit_record(fm.layout, entry.record_id, {"Type": "Posterior"})
    run_import("--refresh-changed", "--workers", "4")
    assert Image.objects.get(pk=entry.image_ref).category == "Posterior"
    assert_counters_kept()
    assert "CLEAN" in verify()


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


def _empty_first_name(emulator) -> str:
    """Empty, in FileMaker, the First Name of a contact with images; its id."""
    contact_id = next(
        r["id_Contact"].upper()
        for r in expected_records(emulator.dataset).values()
        if r["contact_exists"]
    )
    fm, client = fm_client()
    with client:
        found = client.find(fm.contacts_layout, [{"id": f"=={contact_id}"}])
        (contact,) = found.records
        client.edit_record(fm.contacts_layout, contact.record_id, {"First Name": ""})
    return contact_id


def test_a_contact_the_patient_model_refuses_is_named_and_not_stored(
    migration_env, emulator
):
    contact_id = _empty_first_name(emulator)

    output = command("import_filemaker_patients")

    assert "1 refused by the patient model" in output
    assert (
        "1 refused: FileMaker's 'First Name' into records.Patient.first_name "
        "refuses it: This field cannot be blank." in output
    )
    assert not Patient.objects.filter(
        filemaker_metadata__filemaker_id=contact_id
    ).exists()
    for patient in Patient.objects.all():
        patient.full_clean()  # every row stored passes the app's own validation
    run_import("--workers", "4")
    unlinked = LedgerEntry.objects.filter(contact_id=contact_id)
    assert {e.state for e in unlinked} == {State.IMPORTED_UNLINKED}


def test_empty_name_fills_a_required_name(migration_env, emulator, settings):
    contact_id = _empty_first_name(emulator)
    target = settings.FILEMAKER_MIGRATION_TARGET
    options = {**target["OPTIONS"]}
    options["patient"] = {**options["patient"], "empty_name": "(not in FileMaker)"}
    settings.FILEMAKER_MIGRATION_TARGET = {**target, "OPTIONS": options}

    output = command("import_filemaker_patients")

    assert "0 refused" in output
    patient = Patient.objects.get(filemaker_metadata__filemaker_id=contact_id)
    assert patient.first_name == "(not in FileMaker)"
    patient.full_clean()
