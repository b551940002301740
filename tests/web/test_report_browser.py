"""The spot check's sign-off and the read-only admin in a real browser
(Debian's Chromium through Playwright), on the session's imported clinic."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from clinic.images.models import ImageBatch
from filemaker_migration.models import ImportRun
from filemaker_migration.models import SpotCheck
from tests.web.browsing import log_in
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def spot_check_url() -> str:
    run = ImportRun.objects.filter(command="import_filemaker_images").latest("pk")
    return reverse("reports:spot-check", args=[run.pk])


def test_signing_off_with_nothing_ticked_asks_first_and_cancelling_flags_nothing(
    page, live_server, staff, imported
):
    log_in(page, live_server, spot_check_url())
    boxes = page.locator("input[name=approved]")
    total = boxes.count()
    assert total > 1
    dialog = page.locator("#confirm-flag")

    page.click("#sign-off")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text(
        f"Nothing is ticked: flag all {total} images?"
    )
    page.click("#confirm-flag-no")
    expect(dialog).to_be_hidden()
    expect(page.locator("#ticked-count")).to_have_text(f"0 of {total} ticked")
    assert SpotCheck.objects.count() == 0
    assert "Signed off" not in page.content()

    # One left unticked: the dialog names one, and confirming records it.
    page.click("#tick-all")
    expect(page.locator("#ticked-count")).to_have_text(f"{total} of {total} ticked")
    flagged = boxes.first.get_attribute("value")
    boxes.first.uncheck()
    page.click("#sign-off")
    expect(dialog.locator("h2")).to_have_text(
        f"1 of {total} images are not ticked: flag them?"
    )
    page.click("#confirm-flag-yes")
    expect(page.locator(".message")).to_have_text(
        f"Signed off: {total - 1} approved, 1 flagged."
    )
    # One sign-off only (.get): the cancelled one recorded nothing.
    assert SpotCheck.objects.get().flagged == [flagged]


def test_admin_shows_imported_batches_read_only(
    page, live_server, django_user_model, imported
):
    django_user_model.objects.create_superuser("admin", password=PASSWORD)
    batch = ImageBatch.objects.filter(import_source="filemaker_import").first()
    log_in(
        page,
        live_server,
        reverse("admin:images_imagebatch_change", args=[batch.pk]),
        username="admin",
    )

    expect(page.locator("h1")).to_have_text("View image batch")
    expect(page.locator("fieldset .description")).to_contain_text(
        "relink_filemaker_images"
    )
    expect(page.locator("input[name=_save]")).to_have_count(0)
    expect(page.locator("a.deletelink")).to_have_count(0)
    expect(page.locator("input[name=batch_name]")).to_have_count(0)

    page.goto(f"{live_server.url}{reverse('admin:images_image_changelist')}")
    expect(page.locator("#result_list")).to_be_visible()
    # No bulk delete that could take imported images with it.
    expect(
        page.locator("select[name=action] option[value=delete_selected]")
    ).to_have_count(0)
