"""The gallery through Django's test client: search in either name order with
counts and last visit, "showing N of M", the Type filter and the comparison."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from clinic.images.models import ImageBatch
from clinic.images.queries import MAX_SEARCH_RESULTS
from clinic.patients.models import Patient
from tests.web.conftest import PASSWORD
from tests.web.conftest import make_patient_with_batches

pytestmark = pytest.mark.django_db


def search(client, text: str):
    return client.post(reverse("images:search"), {"q": text})


@pytest.mark.parametrize(
    "text", ["Testpatient, Ada", "Ada Testpatient", "testpatient ada", "TESTPAT,ADA"]
)
def test_search_finds_a_name_in_either_order(client, staff, offline_s3, text):
    patient = make_patient_with_batches(1)
    Patient.objects.create(first_name="Ada", last_name="Other")
    client.login(username="staff", password=PASSWORD)

    found = search(client, text).context["found"]

    assert [p.pk for p in found.patients] == [patient.pk]


def test_results_show_image_count_and_last_visit(client, staff, offline_s3):
    patient = make_patient_with_batches(3)  # 3 visits of 2 images, a month apart
    client.login(username="staff", password=PASSWORD)

    response = search(client, "Testpatient")

    (row,) = response.context["found"].patients
    assert (row.image_count, row.last_visit) == (6, dt.date(2014, 3, 2))
    page = response.content.decode()
    assert '<td class="num">6</td>' in page
    assert "<td>2 Mar 2014</td>" in page
    assert "1 patient found." in page
    assert patient.filemaker_id in page


def test_a_capped_search_says_how_many_it_shows(client, staff):
    Patient.objects.bulk_create(
        Patient(first_name=f"Jo{n}", last_name="Smith")
        for n in range(MAX_SEARCH_RESULTS + 7)
    )
    client.login(username="staff", password=PASSWORD)

    response = search(client, "smith")

    found = response.context["found"]
    assert (len(found.patients), found.total) == (MAX_SEARCH_RESULTS, 57)
    assert f"Showing {MAX_SEARCH_RESULTS} of 57 patients" in response.content.decode()
    assert "Showing" not in search(client, "Jo1 Smith").content.decode()


def test_type_filter_keeps_only_that_type(client, staff, offline_s3):
    patient = make_patient_with_batches(3)
    ImageBatch.objects.filter(captured_date=dt.date(2014, 1, 31)).first().images.filter(
        category="Dorsal"
    ).delete()
    client.login(username="staff", password=PASSWORD)
    url = reverse("images:patient", args=[patient.pk])

    dorsal = client.get(url, {"type": "Dorsal"})
    everything = client.get(url, {"type": "No such Type"})

    shown = [i["image"] for b in dorsal.context["batches"] for i in b["images"]]
    assert {i.category for i in shown} == {"Dorsal"}
    assert len(shown) == 2
    assert len(dorsal.context["batches"]) == 2  # the visit without one is left out
    assert dorsal.context["types"] == [("Dorsal", 2, 2), ("Left Planter", 3, 3)]
    assert 'aria-current="true">Dorsal (2)' in dorsal.content.decode()
    assert everything.context["image_type"] == ""
    assert sum(len(b["images"]) for b in everything.context["batches"]) == 5


def test_comparison_opens_on_the_last_two_visits_of_the_commonest_type(
    client, staff, offline_s3
):
    patient = make_patient_with_batches(3)
    newest, middle, oldest = ImageBatch.objects.order_by("-captured_date")
    oldest.images.filter(category="Dorsal").delete()
    client.login(username="staff", password=PASSWORD)
    url = reverse("images:compare", args=[patient.pk])

    default = client.get(url).context["chosen"]
    swapped = client.get(
        url, {"type": "Dorsal", "a": str(newest.pk), "b": str(middle.pk)}
    ).context["chosen"]
    # The oldest visit has no Dorsal image: the left side falls back.
    without = client.get(
        url, {"type": "Dorsal", "a": str(oldest.pk), "b": str(newest.pk)}
    ).context["chosen"]

    assert default.image_type == "Left Planter"  # seen at 3 visits, Dorsal at 2
    assert (default.left, default.right) == (middle, newest)
    assert [i.category for i in default.left_images + default.right_images] == [
        "Left Planter",
        "Left Planter",
    ]
    assert swapped.visits == [newest, middle]
    assert (swapped.left, swapped.right) == (newest, middle)
    assert [i.batch for i in swapped.left_images] == [newest]
    assert all(i.category == "Dorsal" for i in swapped.right_images)
    assert (without.left, without.right) == (middle, newest)


def test_comparison_of_a_type_seen_once_says_so(client, staff, offline_s3):
    patient = make_patient_with_batches(1)
    client.login(username="staff", password=PASSWORD)

    response = client.get(reverse("images:compare", args=[patient.pk]))

    assert response.context["chosen"].right is not None
    assert response.context["chosen"].left is None
    assert "nothing to compare it with yet" in response.content.decode()
