"""Gallery and API through Django's test client: permissions, pagination, JSON."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from clinic.images.models import Image
from tests.web.conftest import PASSWORD
from tests.web.conftest import make_patient_with_batches

pytestmark = pytest.mark.django_db


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def gallery_urls(patient, image) -> list[str]:
    return [
        reverse("images:search"),
        reverse("images:patient", args=[patient.pk]),
        reverse("images:image", args=[image.pk]),
    ]


def test_gallery_pages_send_anonymous_visitors_to_the_login(client, offline_s3):
    patient = make_patient_with_batches(1)
    for url in gallery_urls(patient, Image.objects.first()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert b"Testpatient" not in response.content


def test_gallery_refuses_accounts_that_are_not_staff(client, clerk, offline_s3):
    patient = make_patient_with_batches(1)
    client.login(username="clerk", password=PASSWORD)
    for url in gallery_urls(patient, Image.objects.first()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_api_answers_401_json_without_a_session(client, offline_s3):
    patient = make_patient_with_batches(1)
    response = client.get(reverse("images_api:patient-batches", args=[patient.pk]))
    assert response.status_code == 401
    assert response.json() == {"detail": "authentication required"}


def test_api_answers_403_json_to_accounts_that_are_not_staff(client, clerk, offline_s3):
    patient = make_patient_with_batches(1)
    client.login(username="clerk", password=PASSWORD)
    response = client.get(reverse("images_api:patient-batches", args=[patient.pk]))
    assert response.status_code == 403
    assert response.json() == {"detail": "staff only"}


def test_search_finds_patients_by_name_and_by_filemaker_id(client, staff, offline_s3):
    patient = make_patient_with_batches(1)
    client.login(username="staff", password=PASSWORD)
    patient_url = reverse("images:patient", args=[patient.pk])

    by_name = client.post(reverse("images:search"), {"q": "ada testpat"})
    by_id = client.post(reverse("images:search"), {"q": patient.filemaker_id[:13]})
    nothing = client.post(reverse("images:search"), {"q": "Nobody"})

    assert patient_url in by_name.content.decode()
    assert patient_url in by_id.content.decode()
    assert patient_url not in nothing.content.decode()
    assert "No patient matches" in nothing.content.decode()


def test_patient_page_shows_batches_newest_first_20_a_page(client, staff, offline_s3):
    patient = make_patient_with_batches(23)
    client.login(username="staff", password=PASSWORD)
    url = reverse("images:patient", args=[patient.pk])

    first = client.get(url)
    second = client.get(url, {"page": 2})

    shown = [b["batch"] for b in first.context["batches"]]
    assert len(shown) == 20
    dates = [b.captured_date for b in shown]
    assert dates == sorted(dates, reverse=True)
    assert len(second.context["batches"]) == 3
    assert second.context["batches"][-1]["batch"].captured_date.year == 2014
    assert first.content.decode().count('class="thumb"') == 40


def test_image_urls_are_presigned_short_lived_and_fall_back_to_the_original(
    client, staff, offline_s3
):
    patient = make_patient_with_batches(1)
    with_derivatives, without = Image.objects.order_by("category")
    with_derivatives.thumbnail_key = with_derivatives.s3_key[:-4] + ".thumb.jpg"
    with_derivatives.display_key = with_derivatives.s3_key[:-4] + ".display.jpg"
    with_derivatives.save()
    client.login(username="staff", password=PASSWORD)

    items = {
        i["image"].pk: i["urls"]
        for b in client.get(reverse("images:patient", args=[patient.pk])).context[
            "batches"
        ]
        for i in b["images"]
    }

    thumb = items[with_derivatives.pk].thumbnail
    assert urlsplit(thumb).path.endswith(".thumb.jpg")
    assert urlsplit(items[without.pk].thumbnail).path.endswith(without.s3_key)
    assert urlsplit(items[without.pk].display).path.endswith(without.s3_key)
    params = query(thumb)
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == "300"
    assert "X-Amz-Signature" in params


def test_image_page_offers_the_original_as_an_attachment(client, staff, offline_s3):
    make_patient_with_batches(1)
    image = Image.objects.get(category="Left Planter")
    client.login(username="staff", password=PASSWORD)

    response = client.get(reverse("images:image", args=[image.pk]))

    original = response.context["urls"].original
    assert urlsplit(original).path.endswith(image.s3_key)
    disposition = query(original)["response-content-disposition"]
    assert disposition.startswith('attachment; filename="Left Planter.jpg"')
    assert image.sha256 in response.content.decode()


def test_api_pages_batches_with_links_and_image_urls(client, staff, offline_s3):
    patient = make_patient_with_batches(23)
    client.login(username="staff", password=PASSWORD)
    url = reverse("images_api:patient-batches", args=[patient.pk])

    first = client.get(url).json()
    second = client.get(first["next"]).json()

    assert first["patient"] == str(patient.pk)
    assert (first["count"], first["page"], first["num_pages"]) == (23, 1, 2)
    assert first["previous"] is None
    assert first["next"] == f"http://testserver{url}?page=2"
    assert len(first["results"]) == 20
    assert second["next"] is None
    assert second["previous"] == f"http://testserver{url}?page=1"
    assert len(second["results"]) == 3
    assert first["url_expires_in"] == 300
    batch = first["results"][0]
    assert set(batch) == {
        "id",
        "batch_name",
        "captured_date",
        "created_at",
        "import_source",
        "images",
    }
    assert batch["captured_date"] > first["results"][1]["captured_date"]
    image = batch["images"][0]
    assert set(image) == {
        "id",
        "filemaker_id",
        "category",
        "date",
        "original_filename",
        "content_type",
        "file_size",
        "width",
        "height",
        "urls",
    }
    assert image["category"] == "Dorsal"
    assert set(image["urls"]) == {"thumbnail", "display", "original"}
    assert query(image["urls"]["original"])["X-Amz-Expires"] == "300"


@pytest.mark.parametrize("page", ["3", "0", "x"])
def test_api_answers_404_json_for_a_page_that_does_not_exist(
    client, staff, offline_s3, page
):
    patient = make_patient_with_batches(2)
    client.login(username="staff", password=PASSWORD)
    response = client.get(
        reverse("images_api:patient-batches", args=[patient.pk]), {"page": page}
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "no such page"}


def test_api_answers_404_json_for_an_unknown_patient(client, staff, offline_s3):
    client.login(username="staff", password=PASSWORD)
    response = client.get(
        reverse(
            "images_api:patient-batches",
            args=["00000000-0000-0000-0000-000000000000"],
        )
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "no such patient"}


def test_presign_lifetime_follows_the_setting(client, staff, offline_s3, settings):
    settings.S3 = {**settings.S3, "PRESIGN_SECONDS": 60}
    patient = make_patient_with_batches(1)
    client.login(username="staff", password=PASSWORD)
    body = client.get(reverse("images_api:patient-batches", args=[patient.pk])).json()
    assert body["url_expires_in"] == 60
    urls = body["results"][0]["images"][0]["urls"]
    assert {query(u)["X-Amz-Expires"] for u in urls.values()} == {"60"}
