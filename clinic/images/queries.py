"""The lookups behind the gallery and the API (no request handling here)."""

from __future__ import annotations

import re

from django.db.models import F
from django.db.models import Prefetch
from django.db.models import Q
from django.db.models import QuerySet

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.patients.models import Patient

MAX_SEARCH_RESULTS = 50
_ID_LIKE = re.compile(r"[0-9A-Fa-f-]{8,36}")


def find_patients(text: str) -> QuerySet[Patient]:
    """Patients whose FileMaker id starts with `text`, or names hold every word."""
    text = text.strip()
    if not text:
        return Patient.objects.none()
    if _ID_LIKE.fullmatch(text):
        by_id = Patient.objects.filter(filemaker_id__istartswith=text)
        if by_id.exists():
            return by_id[:MAX_SEARCH_RESULTS]
    found = Patient.objects.all()
    for word in text.split():
        found = found.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word)
        )
    return found[:MAX_SEARCH_RESULTS]


def batches_newest_first(patient: Patient) -> QuerySet[ImageBatch]:
    # Undated batches last, whatever the database's NULL ordering.
    return (
        ImageBatch.objects.filter(patient=patient)
        .order_by(F("captured_date").desc(nulls_last=True), "-created_at", "pk")
        .prefetch_related(
            Prefetch("images", queryset=Image.objects.order_by("category", "pk"))
        )
    )
