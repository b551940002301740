"""The admin: imported batches and images read-only (changes go through relink,
rollback, refresh), a clinic's own uploads editable, the migration's ledger
read-only, and the review queue readable (contact id, fields tried in words,
one date format, ids in upper case)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.images.models import ImportSource
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import ReviewItem
from filemaker_migration.models import State
from tests.web.conftest import make_patient_with_batches

pytestmark = pytest.mark.django_db


def user_upload(patient) -> ImageBatch:
    batch = ImageBatch.objects.create(
        patient=patient, batch_name="Clinic upload", import_source="user_upload"
    )
    Image.objects.create(batch=batch, s3_key="uploads/one.jpg", file_size=10)
    return batch


def test_imported_rows_have_no_change_or_delete_permission(
    admin_user, offline_s3, rf: RequestFactory
):
    patient = make_patient_with_batches(1)
    imported = ImageBatch.objects.get(import_source=ImportSource.FILEMAKER_IMPORT)
    uploaded = user_upload(patient)
    request = rf.get("/")
    request.user = admin_user  # a superuser: every permission Django grants

    for model, imported_row, uploaded_row in [
        (ImageBatch, imported, uploaded),
        (Image, imported.images.first(), uploaded.images.first()),
    ]:
        admin = site._registry[model]
        assert not admin.has_change_permission(request, imported_row)
        assert not admin.has_delete_permission(request, imported_row)
        assert admin.has_change_permission(request, uploaded_row)
        assert admin.has_delete_permission(request, uploaded_row)
        # A selection could hold imported rows: no bulk delete at all.
        assert "delete_selected" not in admin.get_actions(request)
    assert not site._registry[Image].has_add_permission(request)


def test_admin_refuses_to_edit_or_delete_imported_rows(admin_client, offline_s3):
    patient = make_patient_with_batches(1)
    batch = ImageBatch.objects.get()
    image = batch.images.first()
    batch_url = reverse("admin:images_imagebatch_change", args=[batch.pk])
    image_url = reverse("admin:images_image_change", args=[image.pk])

    page = admin_client.get(batch_url)
    changed = admin_client.post(batch_url, {"batch_name": "renamed"})
    deleted = admin_client.post(
        reverse("admin:images_image_delete", args=[image.pk]), {"post": "yes"}
    )
    # Deleting the patient would cascade to the imported batch: refused too.
    patient_gone = admin_client.post(
        reverse("admin:patients_patient_delete", args=[patient.pk]), {"post": "yes"}
    )

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert "relink_filemaker_images" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert (changed.status_code, deleted.status_code) == (403, 403)
    assert patient_gone.status_code == 403
    batch.refresh_from_db()
    assert batch.batch_name != "renamed"
    assert Image.objects.filter(pk=image.pk).exists()
    # Ids as FileMaker and the keys write them.
    image_page = admin_client.get(image_url).content.decode()
    assert str(image.filemaker_id).upper() in image_page
    assert str(image.filemaker_id).lower() not in image_page


def test_a_clinics_own_upload_stays_editable(admin_client, offline_s3):
    batch = user_upload(make_patient_with_batches(1))
    url = reverse("admin:images_imagebatch_change", args=[batch.pk])

    assert 'name="_save"' in admin_client.get(url).content.decode()
    admin_client.post(
        reverse("admin:images_imagebatch_delete", args=[batch.pk]), {"post": "yes"}
    )
    assert not ImageBatch.objects.filter(pk=batch.pk).exists()


def ledger_entries() -> tuple[LedgerEntry, LedgerEntry]:
    contact = str(uuid.uuid4()).upper()
    unlinked = LedgerEntry.objects.create(
        record_id="7",
        filemaker_id=str(uuid.uuid4()).upper(),
        contact_id=contact,
        state=State.IMPORTED_UNLINKED,
        image_type="Dorsal",
        image_date=dt.date(2016, 10, 8),
        s3_key="patients/filemaker-import/images/unlinked/dorsal/X.jpg",
    )
    unreadable = LedgerEntry.objects.create(
        record_id="8",
        filemaker_id=str(uuid.uuid4()).upper(),
        state=State.SKIPPED,
        reason="no_valid_image",
        detail="no container field holds a readable image",
        fields_tried=[
            {"field": "image_Full", "result": "truncated_or_corrupt", "size": 5400},
            {"field": "image_large", "result": "empty", "size": 0},
        ],
    )
    return unlinked, unreadable


def test_review_queue_shows_what_is_needed_to_fix_each_record(admin_client):
    unlinked, unreadable = ledger_entries()
    url = reverse("admin:filemaker_reviewitem_changelist")

    page = admin_client.get(url).content.decode()
    only_unlinked = admin_client.get(url, {"reason": "patient_not_found"})
    detail = admin_client.get(
        reverse("admin:filemaker_reviewitem_change", args=[unreadable.pk])
    ).content.decode()

    assert unlinked.contact_id in page
    assert "Patient not found" in page
    assert "image_Full: truncated or corrupt (5.4 KB) · image_large: empty" in page
    # Words, not raw JSON.
    assert '"result"' not in page
    assert '"result"' not in detail
    assert "image_Full: truncated or corrupt" in detail
    assert "8 Oct 2016" in page
    # Dates and times in one form: no "Oct. 8, 2016", "2016-10-08", "a.m.".
    assert not re.search(r"Oct\. |2016-10-08|[ap]\.m\.", page + detail)
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}\b", detail)
    assert [e.pk for e in only_unlinked.context["cl"].result_list] == [unlinked.pk]


def test_the_migrations_records_are_read_only(admin_client):
    unlinked, _ = ledger_entries()
    for model in ("ledgerentry", "reviewitem"):
        change = reverse(f"admin:filemaker_{model}_change", args=[unlinked.pk])
        assert admin_client.get(change).status_code == 200
        assert admin_client.post(change, {"state": "failed"}).status_code == 403
        assert (
            admin_client.get(reverse(f"admin:filemaker_{model}_add")).status_code == 403
        )
        delete = reverse(f"admin:filemaker_{model}_delete", args=[unlinked.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ReviewItem.objects.get(pk=unlinked.pk).state == State.IMPORTED_UNLINKED
