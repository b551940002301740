"""The staff-only patient gallery: search, a patient's visits, one image, and
two visits side by side.

Every image URL is presigned for this response only (see presign.py). The
search is a POST so that patient names never appear in URLs, and so never in
access logs or browser history; a Type or a batch id may (they name nobody).
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from clinic.images.compare import comparison
from clinic.images.models import Image
from clinic.images.presign import image_urls
from clinic.images.presign import presign_seconds
from clinic.images.queries import MAX_SEARCH_RESULTS
from clinic.images.queries import batches_newest_first
from clinic.images.queries import find_patients
from clinic.images.queries import types_of
from clinic.patients.models import Patient

BATCHES_PER_PAGE = 20


@staff_member_required
@require_http_methods(["GET", "POST"])
def search(request):
    text = request.POST.get("q", "") if request.method == "POST" else ""
    return render(
        request,
        "images/search.html",
        {
            "q": text,
            "found": find_patients(text),
            "searched": bool(text.strip()),
            "cap": MAX_SEARCH_RESULTS,
        },
    )


def with_urls(images) -> list[dict]:
    return [{"image": image, "urls": image_urls(image)} for image in images]


@staff_member_required
def patient(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    types = types_of(patient)
    image_type = request.GET.get("type", "")
    if image_type not in {t for t, _images, _visits in types}:
        image_type = ""
    page = Paginator(
        batches_newest_first(patient, image_type), BATCHES_PER_PAGE
    ).get_page(request.GET.get("page"))
    batches = [{"batch": b, "images": with_urls(b.images.all())} for b in page]
    return render(
        request,
        "images/patient.html",
        {
            "patient": patient,
            "page": page,
            "batches": batches,
            "types": types,
            "image_type": image_type,
            "image_total": sum(images for _t, images, _v in types),
        },
    )


@staff_member_required
def compare(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    chosen = comparison(
        patient,
        image_type=request.GET.get("type", ""),
        left=request.GET.get("a", ""),
        right=request.GET.get("b", ""),
    )
    sides = [
        {"name": name, "label": label, "batch": batch, "images": with_urls(images)}
        for name, label, batch, images in (
            ("a", "Earlier visit", chosen.left, chosen.left_images),
            ("b", "Later visit", chosen.right, chosen.right_images),
        )
    ]
    return render(
        request,
        "images/compare.html",
        {"patient": patient, "chosen": chosen, "sides": sides},
    )


@staff_member_required
def image(request, pk):
    image = get_object_or_404(Image.objects.select_related("batch__patient"), pk=pk)
    return render(
        request,
        "images/image.html",
        {
            "image": image,
            "urls": image_urls(image),
            "patient": image.batch.patient,
            "expires_in": presign_seconds(),
        },
    )
