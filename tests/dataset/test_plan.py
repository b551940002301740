from __future__ import annotations

import random
from collections import defaultdict

import pytest

from filemaker_migration.dataset.plan import FIRST_DAY
from filemaker_migration.dataset.plan import IMAGE_TYPES
from filemaker_migration.dataset.plan import LAST_DAY
from filemaker_migration.dataset.plan import PROFILES
from filemaker_migration.dataset.plan import SHARES
from filemaker_migration.dataset.plan import plan_clinic
from filemaker_migration.dataset.plan import share


def test_image_types_are_the_nine_filemaker_spellings():
    assert IMAGE_TYPES == (
        "Left Dorsal",
        "Left Medial",
        "Left Planter",
        "Planter",
        "Posterior",
        "L-Brannock",
        "Shoe Box",
        "Side and bottom of shoes",
        "Soles of shoes",
    )


@pytest.mark.parametrize(
    ("images", "patients"), [(1, 1), (5, 1), (51, 10), (6664, 1307)]
)
def test_plan_clinic_has_about_one_patient_per_5_1_images(images, patients):
    plan = plan_clinic(random.Random(1), images)
    assert len(plan.images) == images
    assert len(plan.patients) == patients
    assert sum(p.images for p in plan.patients) == images


def test_plan_clinic_groups_images_into_visits_of_distinct_types():
    plan = plan_clinic(random.Random(2), 2000)
    visits = defaultdict(list)
    for image in plan.images:
        visits[image.patient.id, image.day].append(image.type)
        assert FIRST_DAY <= image.day <= LAST_DAY
    sizes = [len(types) for types in visits.values()]
    assert all(len(set(types)) == len(types) for types in visits.values())
    assert max(sizes) <= 6
    assert sum(sizes) / len(sizes) > 2.5  # batches of several images
    assert {t for types in visits.values() for t in types} == set(IMAGE_TYPES)


def test_plan_clinic_orders_images_by_creation():
    plan = plan_clinic(random.Random(3), 500)
    created = [image.created for image in plan.images]
    assert created == sorted(created)
    assert len({image.id for image in plan.images}) == 500


@pytest.mark.parametrize("images", [100, 137, 1000])
def test_plan_clinic_plants_every_defect_from_100_images(images):
    plan = plan_clinic(random.Random(images), images)
    counts = dict.fromkeys(SHARES, 0)
    for image in plan.images:
        for name in image.defects:
            counts[name] += 1
        assert len(image.defects & set(PROFILES)) <= 1
    for name in SHARES:
        assert counts[name] >= 1, name
        if name != "missing_contact":
            assert counts[name] == share(images, name), name
    assert 1 <= counts["missing_contact"] <= max(1, share(images, "missing_contact"))


def test_plan_clinic_drops_whole_patients_from_contacts():
    plan = plan_clinic(random.Random(4), 600)
    contacts = set(plan.contact_ids)
    for patient in plan.patients:
        assert (patient.id in contacts) == patient.in_contacts
    assert any(not p.in_contacts for p in plan.patients)
    # Some contacts have no images at all.
    assert len(contacts - {p.id for p in plan.patients}) > 0


def test_plan_clinic_never_drops_the_only_patient():
    plan = plan_clinic(random.Random(5), 4)
    assert all(p.in_contacts for p in plan.patients)
