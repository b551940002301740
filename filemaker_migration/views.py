"""Staff-only pages for an import run: its report (HTML and JSON) and the
contact sheet a clinician signs off."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.shortcuts import redirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from filemaker_migration import runreport
from filemaker_migration import spotcheck
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import SpotCheck
from filemaker_migration.presign import ImageUrls
from filemaker_migration.presign import default_download_name
from filemaker_migration.presign import urls_for


def _urls(entry: LedgerEntry) -> ImageUrls:
    return urls_for(
        entry.s3_key,
        entry.thumbnail_key,
        entry.display_key,
        default_download_name(
            entry.s3_key, entry.filemaker_id, entry.original_filename
        ),
    )


def _seed(request, run: ImportRun) -> int:
    try:
        return int(request.GET.get("seed") or request.POST.get("seed") or run.pk)
    except ValueError as exc:
        raise Http404("seed must be a number") from exc


def _summary(run: ImportRun) -> runreport.ReportSummary:
    try:
        return runreport.summarize(runreport.load(run))
    except runreport.ReportMissingError as exc:
        raise Http404(str(exc)) from exc


@staff_member_required
def run_report(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    summary = _summary(run)
    seed = _seed(request, run)
    sample = spotcheck.sample_for(run, summary.imported_ids, seed)
    return render(
        request,
        "filemaker/run_report.html",
        {
            "run": run,
            "summary": summary,
            "seed": seed,
            "sample": [{"entry": e, "urls": _urls(e)} for e in sample],
            "checks": SpotCheck.objects.filter(run=run).select_related("signed_by"),
        },
    )


@staff_member_required
def run_report_json(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    try:
        path = runreport.report_path(run)
    except runreport.ReportMissingError as exc:
        raise Http404(str(exc)) from exc
    return FileResponse(path.open("rb"), content_type="application/json")


@staff_member_required
@require_POST
def sign_spot_check(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    seed = _seed(request, run)
    # The sample is drawn again from the seed: the form cannot smuggle in
    # images that were not on the sheet.
    sample = spotcheck.sample_for(run, _summary(run).imported_ids, seed)
    check = spotcheck.sign_off(
        run,
        sample,
        set(request.POST.getlist("approved")),
        seed=seed,
        user=request.user,
        note=request.POST.get("note", "")[:2000],
    )
    messages.success(
        request,
        f"Signed off: {len(check.approved)} approved, {len(check.flagged)} flagged.",
    )
    return redirect(f"{reverse('reports:run', args=[run.pk])}?seed={seed}#spot-check")
