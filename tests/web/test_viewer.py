"""The clinical viewer in a real browser (Debian's Chromium through Playwright):
the lightbox and its keys, the Type filter, two visits side by side.

The images are the session's import (tests/web/conftest.py), fetched from
moto's S3 server through presigned URLs.
"""

from __future__ import annotations

import pytest
from django.db.models import Count
from django.db.models import F
from django.urls import reverse
from playwright.sync_api import expect

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.patients.models import Patient
from filemaker_migration.display import date_text
from tests.web.browsing import loaded_images
from tests.web.browsing import log_in

pytestmark = pytest.mark.django_db(transaction=True)

VIEWER_IMAGE_LOADED = (
    "() => { const i = document.querySelector('.viewer-image');"
    " return i.complete && i.naturalWidth > 0; }"
)


def patient_with_most_images() -> Patient:
    return (
        Patient.objects.annotate(n=Count("image_batches__images"))
        .order_by("-n", "pk")
        .first()
    )


def test_lightbox_moves_with_arrow_keys_zooms_and_closes_with_escape(
    page, live_server, staff, imported
):
    patient = patient_with_most_images()
    log_in(page, live_server, reverse("images:patient", args=[patient.pk]))
    items = page.locator("a.viewer-item")
    count = items.count()
    assert count == Image.objects.filter(batch__patient=patient).count() >= 3
    displays = [items.nth(i).get_attribute("data-display") for i in range(3)]
    viewer = page.locator("#viewer")
    image = viewer.locator(".viewer-image")

    items.first.click()
    expect(viewer).to_be_visible()
    expect(viewer.locator(".viewer-position")).to_have_text(f"1 of {count}")
    expect(image).to_have_attribute("src", displays[0])
    page.wait_for_function(VIEWER_IMAGE_LOADED)

    page.keyboard.press("ArrowRight")
    expect(viewer.locator(".viewer-position")).to_have_text(f"2 of {count}")
    expect(image).to_have_attribute("src", displays[1])
    page.keyboard.press("ArrowRight")
    expect(image).to_have_attribute("src", displays[2])
    page.keyboard.press("ArrowLeft")
    expect(viewer.locator(".viewer-position")).to_have_text(f"2 of {count}")
    expect(image).to_have_attribute("src", displays[1])
    page.wait_for_function(VIEWER_IMAGE_LOADED)
    caption = items.nth(1).get_attribute("data-caption")
    expect(viewer.locator(".viewer-caption")).to_have_text(caption)

    fitted = image.bounding_box()["width"]
    page.keyboard.press("+")
    expect(viewer).to_have_attribute("data-zoom", "1.5")
    assert image.bounding_box()["width"] == pytest.approx(1.5 * fitted, abs=2)
    page.keyboard.press("0")
    expect(viewer).to_have_attribute("data-zoom", "1")

    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    # Back on the thumbnail it was opened from, where the keyboard left off.
    assert page.evaluate(
        "() => document.activeElement === document.querySelectorAll('a.viewer-item')[0]"
    )


def test_type_filter_shows_only_that_type(page, live_server, staff, imported):
    patient = patient_with_most_images()
    images = Image.objects.filter(batch__patient=patient)
    kind = images.values("category").annotate(n=Count("pk")).order_by("-n")[0]
    log_in(page, live_server, reverse("images:patient", args=[patient.pk]))

    page.locator(".type-filter a", has_text=f"{kind['category']} (").click()

    expect(page.locator(".type-filter a[aria-current]")).to_contain_text(
        kind["category"]
    )
    captions = page.locator("figure.tile figcaption")
    expect(captions).to_have_count(kind["n"])
    assert set(captions.all_inner_texts()) == {kind["category"]}
    expect(page.locator("section.visit")).to_have_count(
        images.filter(category=kind["category"]).values("batch").distinct().count()
    )
    widths = loaded_images(page, "img.thumb")
    assert all(width > 0 for width in widths), widths

    page.locator(".type-filter a", has_text="All Types").click()
    expect(page.locator("figure.tile")).to_have_count(images.count())


def test_comparison_puts_two_visits_of_one_type_side_by_side(
    page, live_server, staff, imported
):
    # A patient with one Type at three visits or more, so there is a choice.
    row = (
        Image.objects.values("batch__patient", "category")
        .annotate(visits=Count("batch", distinct=True))
        .filter(visits__gte=3)
        .order_by("-visits", "batch__patient", "category")
        .first()
    )
    assert row, "the synthetic clinic has a Type seen at three visits"
    patient = Patient.objects.get(pk=row["batch__patient"])
    kind = row["category"]
    # Newest first, undated last, as the page orders them on any database.
    visits = list(
        ImageBatch.objects.filter(patient=patient, images__category=kind)
        .distinct()
        .order_by(F("captured_date").desc(nulls_last=True), "-created_at", "pk")
    )
    url = reverse("images:compare", args=[patient.pk])
    log_in(page, live_server, reverse("images:patient", args=[patient.pk]))
    page.locator(".type-filter a", has_text=f"{kind} (").click()

    page.click("#compare-link")
    page.wait_for_url(f"**{url}?type=*")

    left, right = page.locator(".side[data-side=a]"), page.locator(".side[data-side=b]")
    expect(page.locator("#compare-a")).to_have_value(str(visits[1].pk))
    expect(page.locator("#compare-b")).to_have_value(str(visits[0].pk))
    for side, visit in ((left, visits[1]), (right, visits[0])):
        expected = visit.images.filter(category=kind).count()
        expect(side.locator("img.compare-image")).to_have_count(expected)
    assert all(w > 0 for w in loaded_images(page, "img.compare-image"))

    page.select_option("#compare-a", str(visits[2].pk))
    page.click("#compare-button")
    page.wait_for_url(f"**a={visits[2].pk}*")
    expect(page.locator("#compare-a")).to_have_value(str(visits[2].pk))
    expect(left.locator("img.compare-image")).to_have_count(
        visits[2].images.filter(category=kind).count()
    )
    expect(left.locator("h2")).to_contain_text(
        date_text(visits[2].captured_date)
        if visits[2].captured_date
        else visits[2].batch_name
    )
    assert all(w > 0 for w in loaded_images(page, "img.compare-image"))
