"""The spot check's page: the contact sheet, and a sign-off that never flags
images by accident.

An image left unticked is recorded as *flagged* (wrong). So a sign-off that
flags any image must say how many it flags: the page's dialog fills that in
once the clinician has confirmed, and a form without it (no JavaScript, or a
stale page) gets a confirmation page instead of a verdict.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.shortcuts import redirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from filemaker_migration import spotcheck
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import SpotCheck
from filemaker_migration.presign import default_download_name
from filemaker_migration.presign import urls_for
from filemaker_migration.views import summary_of


def _seed(request, run: ImportRun) -> int:
    try:
        return int(request.GET.get("seed") or request.POST.get("seed") or run.pk)
    except ValueError as exc:
        raise Http404("seed must be a number") from exc


def _item(entry: LedgerEntry) -> dict:
    urls = urls_for(
        entry.s3_key,
        entry.thumbnail_key,
        entry.display_key,
        default_download_name(
            entry.s3_key, entry.filemaker_id, entry.original_filename
        ),
    )
    return {"entry": entry, "urls": urls}


@staff_member_required
@require_http_methods(["GET", "POST"])
def spot_check(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    seed = _seed(request, run)
    # Drawn again from the seed on a POST too: the form cannot smuggle in
    # images that were not on the sheet.
    sample = spotcheck.sample_for(run, summary_of(run).imported_ids, seed)
    context = {"run": run, "seed": seed}
    if request.method == "POST":
        approved = {a.upper() for a in request.POST.getlist("approved")}
        flagged = [e for e in sample if e.filemaker_id.upper() not in approved]
        note = request.POST.get("note", "")[:2000]
        if flagged and request.POST.get("confirm_flagged") != str(len(flagged)):
            return render(
                request,
                "filemaker/spot_check_confirm.html",
                {
                    **context,
                    "flagged": flagged,
                    "approved": [e for e in sample if e not in flagged],
                    "note": note,
                    "total": len(sample),
                },
            )
        check = spotcheck.sign_off(
            run, sample, approved, seed=seed, user=request.user, note=note
        )
        messages.success(
            request,
            f"Signed off: {len(check.approved)} approved, "
            f"{len(check.flagged)} flagged.",
        )
        url = reverse("reports:spot-check", args=[run.pk])
        return redirect(f"{url}?seed={seed}")
    return render(
        request,
        "filemaker/spot_check.html",
        {
            **context,
            "sample": [_item(e) for e in sample],
            "checks": SpotCheck.objects.filter(run=run).select_related("signed_by"),
        },
    )
