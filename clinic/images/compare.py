"""Which two visits the comparison page puts side by side.

A clinician compares the same Type (say "Dorsal") across dates. Without a
choice, the page opens on the Type seen at the most visits, the previous
visit on the left and the latest on the right.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.images.queries import batches_newest_first
from clinic.images.queries import types_of
from clinic.patients.models import Patient


@dataclass
class Comparison:
    types: list[tuple[str, int, int]]  # (Type, images, visits) of the patient
    image_type: str
    visits: list[ImageBatch]  # the visits with that Type, newest first
    left: ImageBatch | None = None
    right: ImageBatch | None = None
    left_images: list[Image] = field(default_factory=list)
    right_images: list[Image] = field(default_factory=list)


def _pick(visits: list[ImageBatch], wanted: str, default: int) -> ImageBatch | None:
    for visit in visits:
        if str(visit.pk) == wanted:
            return visit
    return visits[default] if len(visits) > default else None


def comparison(
    patient: Patient, *, image_type: str = "", left: str = "", right: str = ""
) -> Comparison:
    types = types_of(patient)
    names = [name for name, _images, _visits in types]
    if image_type not in names:
        # The Type seen at the most visits; ties go to the first by name.
        ranked = sorted(types, key=lambda t: (-t[2], t[0]))
        image_type = ranked[0][0] if ranked else ""
    visits = list(batches_newest_first(patient, image_type)) if types else []
    chosen = Comparison(types=types, image_type=image_type, visits=visits)
    chosen.left = _pick(visits, left, 1)
    chosen.right = _pick(visits, right, 0)
    chosen.left_images = list(chosen.left.images.all()) if chosen.left else []
    chosen.right_images = list(chosen.right.images.all()) if chosen.right else []
    return chosen
