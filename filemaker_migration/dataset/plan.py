"""What the synthetic clinic looks like: patients, visits, images and defects.

Pure planning, no I/O: generate.py turns a `ClinicPlan` into files. All
choices come from the caller's `random.Random`, in a fixed order, so a seed
always gives the same clinic.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from dataclasses import field

# Exactly as FileMaker spells them, "Planter" typos included.
IMAGE_TYPES = (
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

# Share of images carrying each planted defect. PROFILES (how the five
# containers are filled) exclude one another; the rest combine with them.
SHARES = {
    "full_empty": 0.05,  # image_Full empty, smaller sizes present
    "only_small_sizes": 0.01,  # only image_medium / image_small
    "all_empty": 0.01,  # no container at all: skipped
    "full_truncated": 0.005,  # image_Full cut short: fall back
    "full_not_image": 0.003,  # a PDF or text behind a .jpg name
    "png": 0.05,
    "undated": 0.02,
    "missing_contact": 0.03,  # id_Contact not in API_Contacts
    "thumbnail_empty": 0.02,  # Recovered empty
}
PROFILES = (
    "full_empty",
    "only_small_sizes",
    "all_empty",
    "full_truncated",
    "full_not_image",
)
# From this many images up every defect is planted at least once, so the
# migration's tests can rely on meeting each of them.
ALWAYS_PLANTED_FROM = 100

IMAGES_PER_PATIENT = 5.1  # the real clinic: ~1,300 patients for 6,664 images
VISIT_SIZE_WEIGHTS = (6, 12, 22, 26, 20, 14)  # 1..6 photos per visit
EXTRA_CONTACTS = 0.08  # contacts who never had a photo taken
FIRST_DAY = dt.date(2014, 1, 1)
LAST_DAY = dt.date(2025, 10, 31)


@dataclass
class Patient:
    id: str
    images: int
    in_contacts: bool = True


@dataclass
class PlannedImage:
    id: str
    patient: Patient
    day: dt.date  # the visit; the record's date field is empty when undated
    created: dt.datetime
    type: str
    defects: set[str] = field(default_factory=set)

    @property
    def dated(self) -> bool:
        return "undated" not in self.defects


@dataclass
class ClinicPlan:
    patients: list[Patient]
    images: list[PlannedImage]  # in recordId order (creation order)
    contact_ids: list[str]  # API_Contacts rows, in record order


class _Ids:
    """Upper-case UUIDs from the seeded stream, never repeated within a run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def new(self) -> str:
        while True:
            value = str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()
            if value not in self.seen:
                self.seen.add(value)
                return value


def plan_clinic(rng: random.Random, images: int) -> ClinicPlan:
    ids = _Ids(rng)
    patients = _plan_patients(rng, ids, images)
    planned = _plan_images(rng, ids, patients)
    _plant_defects(rng, planned, patients)
    contact_ids = [p.id for p in patients if p.in_contacts]
    for _ in range(round(len(patients) * EXTRA_CONTACTS)):
        contact_ids.insert(rng.randrange(len(contact_ids) + 1), ids.new())
    return ClinicPlan(patients, planned, contact_ids)


def share(n: int, name: str) -> int:
    """How many of `n` images get defect `name`."""
    count = round(n * SHARES[name])
    return max(count, 1) if n >= ALWAYS_PLANTED_FROM else count


def _plan_patients(rng: random.Random, ids: _Ids, images: int) -> list[Patient]:
    n = max(1, round(images / IMAGES_PER_PATIENT))
    patients = [Patient(ids.new(), 1) for _ in range(n)]
    # Everyone has at least one image; the rest go mostly to a few regulars.
    weights = [rng.lognormvariate(0, 0.9) for _ in patients]
    for i in rng.choices(range(n), weights, k=images - n):
        patients[i].images += 1
    return patients


def _plan_images(
    rng: random.Random, ids: _Ids, patients: list[Patient]
) -> list[PlannedImage]:
    span = (LAST_DAY - FIRST_DAY).days + 1
    planned: list[PlannedImage] = []
    for patient in patients:
        sizes = []
        left = patient.images
        while left:
            size = min(left, rng.choices(range(1, 7), VISIT_SIZE_WEIGHTS)[0])
            sizes.append(size)
            left -= size
        # A patient's visits cluster in a window of a few months to years.
        window = min(span, max(len(sizes) * 7, rng.randrange(30, 2000)))
        start = rng.randrange(span - window + 1)
        days = sorted(rng.sample(range(start, start + window), len(sizes)))
        for size, offset in zip(sizes, days, strict=True):
            day = FIRST_DAY + dt.timedelta(days=offset)
            at = dt.datetime.combine(day, dt.time(8))
            at += dt.timedelta(seconds=rng.randrange(9 * 3600))
            # Different Types within one visit: one photo per view.
            for image_type in rng.sample(IMAGE_TYPES, size):
                at += dt.timedelta(seconds=rng.randrange(15, 120))
                planned.append(PlannedImage(ids.new(), patient, day, at, image_type))
    # FileMaker numbers records in creation order.
    planned.sort(key=lambda image: image.created)
    return planned


def _plant_defects(
    rng: random.Random, planned: list[PlannedImage], patients: list[Patient]
) -> None:
    n = len(planned)
    counts = [share(n, name) for name in PROFILES]
    chosen = rng.sample(range(n), sum(counts))
    for name, count in zip(PROFILES, counts, strict=True):
        for i in chosen[:count]:
            planned[i].defects.add(name)
        chosen = chosen[count:]
    # A PNG with no picture at all, or a PDF in image_Full, would plant nothing.
    can_be_png = [
        i
        for i, image in enumerate(planned)
        if not image.defects & {"all_empty", "full_not_image"}
    ]
    for name, candidates in (
        ("png", can_be_png),
        ("undated", range(n)),
        ("thumbnail_empty", range(n)),
    ):
        for i in rng.sample(candidates, min(len(candidates), share(n, name))):
            planned[i].defects.add(name)
    _drop_contacts(rng, patients, share(n, "missing_contact"))
    for image in planned:
        if not image.patient.in_contacts:
            image.defects.add("missing_contact")


def _drop_contacts(rng: random.Random, patients: list[Patient], target: int) -> None:
    """Leave whole patients out of API_Contacts until ~`target` images are orphaned.

    As when a contact was deleted but their images stayed behind.
    """
    if not target:
        return
    remaining = target
    others = rng.sample(patients, len(patients))[1:]  # never every patient
    for patient in others:
        if patient.images <= remaining:
            patient.in_contacts = False
            remaining -= patient.images
        if not remaining:
            break
    if remaining == target and others:
        min(others, key=lambda p: p.images).in_contacts = False
