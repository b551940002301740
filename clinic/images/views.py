"""The staff-only patient gallery: search, a patient's batches, one image.

Every image URL is presigned for this response only (see presign.py). The
search is a POST so that patient names never appear in URLs, and so never in
access logs or browser history.
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from clinic.images.models import Image
from clinic.images.presign import image_urls
from clinic.images.presign import presign_seconds
from clinic.images.queries import batches_newest_first
from clinic.images.queries import find_patients
from clinic.patients.models import Patient

BATCHES_PER_PAGE = 20


@staff_member_required
@require_http_methods(["GET", "POST"])
def search(request):
    text = request.POST.get("q", "") if request.method == "POST" else ""
    return render(
        request,
        "images/search.html",
        {"q": text, "patients": find_patients(text), "searched": bool(text.strip())},
    )


@staff_member_required
def patient(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    page = Paginator(batches_newest_first(patient), BATCHES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    batches = [
        {
            "batch": batch,
            "images": [
                {"image": image, "urls": image_urls(image)}
                for image in batch.images.all()
            ],
        }
        for batch in page
    ]
    return render(
        request,
        "images/patient.html",
        {"patient": patient, "page": page, "batches": batches},
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
