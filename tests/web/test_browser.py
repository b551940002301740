"""The gallery in a real browser (Debian's Chromium through Playwright).

The clinic is imported from the emulator (HTTPS) into moto's S3 server
(sockets), the app runs on a live server, and the browser fetches the images
from S3 through the presigned URLs, as a clinician's browser would.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from clinic.images.models import Image
from clinic.patients.models import Patient
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server, next_path: str) -> None:
    page.goto(f"{live_server.url}{reverse('admin:login')}?next={next_path}")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path)))


def loaded_images(page, selector: str) -> list[int]:
    """naturalWidth of each matching <img>, once the browser finished with it."""
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].every(i => i.complete)",
        arg=selector,
    )
    return page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.naturalWidth)")


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
    path = reverse("images:patient", args=[patient.pk])
    log_in(page, live_server, path)

    widths = loaded_images(page, "img.thumb")
    assert widths
    assert all(width > 0 for width in widths), widths


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


def test_run_report_page_renders_the_contact_sheet(
    page, live_server, staff, imported_with_derivatives
):
    from filemaker_migration.models import ImportRun

    run = ImportRun.objects.filter(command="import_filemaker_images").latest("pk")
    path = reverse("reports:run", args=[run.pk])
    log_in(page, live_server, path)

    widths = loaded_images(page, ".contact-sheet img")
    assert widths
    assert all(width > 0 for width in widths), widths
    page.locator("input[name=approved]").first.check()
    page.click("text=Sign off as staff")
    page.wait_for_selector("table.signoffs")
    assert "1 approved" in page.content()


def urlsplit_path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path
