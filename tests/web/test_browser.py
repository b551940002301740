"""The gallery in a real browser (Debian's Chromium through Playwright).

The clinic is imported from the emulator (HTTPS) into moto's S3 server
(sockets), the app runs on a live server, and the browser fetches the images
from S3 through the presigned URLs, as a clinician's browser would.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from clinic.images.models import Image
from clinic.patients.models import Patient
from tests.web.browsing import loaded_images
from tests.web.browsing import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_search_a_patient_and_see_the_thumbnails_load(
    page, live_server, staff, imported_with_derivatives
):
    patient = Image.objects.select_related("batch__patient").first().batch.patient
    log_in(page, live_server, reverse("images:search"))

    page.fill("input[name=q]", f"{patient.first_name} {patient.last_name}")
    page.click("#search-button")
    page.click(f"a[href='{reverse('images:patient', args=[patient.pk])}']")

    batches = patient.image_batches.count()
    assert page.locator("section.batch").count() == batches
    widths = loaded_images(page, "img.thumb")
    assert len(widths) == Image.objects.filter(batch__patient=patient).count()
    assert all(width > 0 for width in widths), widths
    # Thumbnails are the derivatives (300 px long side), not the originals.
    assert max(widths) <= 300
    labels = page.locator("figcaption").all_inner_texts()
    assert sorted(labels) == sorted(
        Image.objects.filter(batch__patient=patient).values_list("category", flat=True)
    )


def test_staff_open_one_image_and_its_download_link(
    page, live_server, staff, imported_with_derivatives
):
    image = Image.objects.order_by("filemaker_id").first()
    path = reverse("images:image", args=[image.pk])
    log_in(page, live_server, path)

    assert loaded_images(page, "#display-image")[0] > 0
    assert str(image.filemaker_id).upper() in page.content().upper()
    href = page.get_attribute("#download-original", "href")
    response = page.request.get(href)
    assert response.ok
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.body() == imported_with_derivatives.read(image.s3_key)


def test_gallery_falls_back_to_originals_without_derivatives(
    page, live_server, staff, imported
):
    patient = Image.objects.select_related("batch__patient").first().batch.patient
    # As for images imported before the import made derivatives.
    Image.objects.filter(batch__patient=patient).update(
        thumbnail_key="", display_key=""
    )
    path = reverse("images:patient", args=[patient.pk])
    log_in(page, live_server, path)

    widths = loaded_images(page, "img.thumb")
    assert widths
    assert all(width > 0 for width in widths), widths
    # The originals themselves: wider than any 300 px thumbnail.
    assert max(widths) > 300


def test_logged_out_visitors_see_no_patient(page, live_server, imported):
    patient = Patient.objects.filter(image_batches__isnull=False).first()
    image = Image.objects.first()
    for path in [
        reverse("images:search"),
        reverse("images:patient", args=[patient.pk]),
        reverse("images:image", args=[image.pk]),
    ]:
        page.goto(f"{live_server.url}{path}")
        assert urlsplit_path(page.url) == reverse("admin:login")
        content = page.content()
        assert patient.last_name not in content
        assert "X-Amz-Signature" not in content
    api = page.request.get(
        f"{live_server.url}{reverse('images_api:patient-batches', args=[patient.pk])}"
    )
    assert api.status == 401
    assert api.json() == {"detail": "authentication required"}


def test_spot_check_page_shows_the_sheet_and_signs_off(
    page, live_server, staff, imported_with_derivatives
):
    from filemaker_migration.models import ImportRun
    from filemaker_migration.models import SpotCheck

    run = ImportRun.objects.filter(command="import_filemaker_images").latest("pk")
    log_in(page, live_server, reverse("reports:run", args=[run.pk]))
    page.click("text=Open the spot check")

    widths = loaded_images(page, ".contact-sheet img")
    assert widths
    assert all(width > 0 for width in widths), widths
    page.click("#tick-all")
    page.click("#sign-off")  # every image ticked: nothing to confirm
    expect(page.locator(".message")).to_contain_text(
        f"Signed off: {len(widths)} approved, 0 flagged."
    )
    assert SpotCheck.objects.get().flagged == []


def urlsplit_path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path
