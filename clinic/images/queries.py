"""The lookups behind the gallery and the API (no request handling here)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Count
from django.db.models import F
from django.db.models import Max
from django.db.models import Prefetch
from django.db.models import Q
from django.db.models import QuerySet

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.patients.models import Patient

MAX_SEARCH_RESULTS = 50
_ID_LIKE = re.compile(r"[0-9A-Fa-f-]{8,36}")
# "Surname, First" and "First Surname" are the same words: commas only
# separate them.
_WORDS = re.compile(r"[^\s,]+")


@dataclass(frozen=True)
class Found:
    """Up to MAX_SEARCH_RESULTS patients (with `image_count` and `last_visit`)
    and how many matched in all, so that a page can say it shows only some."""

    patients: list[Patient]
    total: int

    @property
    def capped(self) -> bool:
        return self.total > len(self.patients)


def find_patients(text: str) -> Found:
    """Patients whose FileMaker id starts with `text`, or whose first or last
    name holds every word of it, in either order."""
    text = text.strip()
    if not text:
        return Found([], 0)
    found = Patient.objects.none()
    if _ID_LIKE.fullmatch(text):
        found = Patient.objects.filter(filemaker_id__istartswith=text)
    if not found.exists():
        found = Patient.objects.all()
        for word in _WORDS.findall(text):
            found = found.filter(
                Q(first_name__icontains=word) | Q(last_name__icontains=word)
            )
    total = found.count()
    shown = found.order_by("last_name", "first_name", "pk").annotate(
        image_count=Count("image_batches__images"),
        last_visit=Max("image_batches__captured_date"),
    )
    return Found(list(shown[:MAX_SEARCH_RESULTS]), total)


def batches_newest_first(
    patient: Patient, image_type: str = ""
) -> QuerySet[ImageBatch]:
    """The patient's batches, each with its images (of `image_type` only, if
    given: then batches without one are left out)."""
    images = Image.objects.order_by("category", "pk")
    batches = ImageBatch.objects.filter(patient=patient)
    if image_type:
        images = images.filter(category=image_type)
        batches = batches.filter(images__category=image_type).distinct()
    # Undated batches last, whatever the database's NULL ordering.
    return batches.order_by(
        F("captured_date").desc(nulls_last=True), "-created_at", "pk"
    ).prefetch_related(Prefetch("images", queryset=images))


def types_of(patient: Patient) -> list[tuple[str, int, int]]:
    """The patient's image Types: (Type, images, visits), by name."""
    rows = (
        Image.objects.filter(batch__patient=patient)
        .values("category")
        .annotate(images=Count("pk"), visits=Count("batch", distinct=True))
        .order_by("category")
    )
    return [(r["category"], r["images"], r["visits"]) for r in rows]
