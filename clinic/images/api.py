"""JSON for the frontend's images dialog: a patient's batches, paginated.

GET /api/patients/<uuid>/image-batches/?page=N (20 batches a page). Staff
only: 401 without a session, 403 for a non-staff account. Image URLs are
presigned per answer and expire after `url_expires_in` seconds.
"""

from __future__ import annotations

import functools

from django.core.paginator import EmptyPage
from django.core.paginator import PageNotAnInteger
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from clinic.images.models import Image
from clinic.images.models import ImageBatch
from clinic.images.presign import image_urls
from clinic.images.presign import presign_seconds
from clinic.images.queries import batches_newest_first
from clinic.patients.models import Patient

PAGE_SIZE = 20


def staff_json(view):
    """Like staff_member_required, but answering JSON instead of redirecting."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"detail": "authentication required"}, status=401)
        if not (request.user.is_active and request.user.is_staff):
            return JsonResponse({"detail": "staff only"}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@staff_json
def patient_batches(request, pk):
    patient = Patient.objects.filter(pk=pk).first()
    if patient is None:
        return JsonResponse({"detail": "no such patient"}, status=404)
    paginator = Paginator(batches_newest_first(patient), PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except (EmptyPage, PageNotAnInteger):
        return JsonResponse({"detail": "no such page"}, status=404)

    def link(number: int) -> str:
        return request.build_absolute_uri(f"{request.path}?page={number}")

    return JsonResponse(
        {
            "patient": str(patient.pk),
            "count": paginator.count,
            "page": page.number,
            "num_pages": paginator.num_pages,
            "next": link(page.next_page_number()) if page.has_next() else None,
            "previous": (
                link(page.previous_page_number()) if page.has_previous() else None
            ),
            "url_expires_in": presign_seconds(),
            "results": [batch_json(batch) for batch in page],
        }
    )


def batch_json(batch: ImageBatch) -> dict:
    return {
        "id": str(batch.pk),
        "batch_name": batch.batch_name,
        "captured_date": batch.captured_date.isoformat()
        if batch.captured_date
        else None,
        "created_at": batch.created_at.isoformat(),
        "import_source": batch.import_source,
        "images": [image_json(image) for image in batch.images.all()],
    }


def image_json(image: Image) -> dict:
    urls = image_urls(image)
    return {
        "id": str(image.pk),
        "filemaker_id": str(image.filemaker_id).upper() if image.filemaker_id else None,
        "category": image.category,
        "date": image.filemaker_date.isoformat() if image.filemaker_date else None,
        "original_filename": image.original_filename,
        "content_type": image.content_type,
        "file_size": image.file_size,
        "width": image.width,
        "height": image.height,
        "urls": {
            "thumbnail": urls.thumbnail,
            "display": urls.display,
            "original": urls.original,
        },
    }
