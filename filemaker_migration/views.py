"""Staff-only pages for an import run: its report (HTML and JSON).

The contact sheet a clinician signs off has its own page (spotcheck_views.py).
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.shortcuts import render

from filemaker_migration import attention
from filemaker_migration import runreport
from filemaker_migration.models import ImportRun
from filemaker_migration.models import SpotCheck


def summary_of(run: ImportRun) -> runreport.ReportSummary:
    try:
        return runreport.summarize(runreport.load(run))
    except runreport.ReportMissingError as exc:
        raise Http404(str(exc)) from exc


@staff_member_required
def run_report(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    summary = summary_of(run)
    # A reason code, never anything about a patient, so it may sit in the URL.
    only = request.GET.get("reason", "")[:64]
    groups = attention.build(summary.attention, only=only)
    return render(
        request,
        "filemaker/run_report.html",
        {
            "run": run,
            "summary": summary,
            "groups": groups,
            "only": only,
            "only_found": any(g.reason.code == only for g in groups),
            "attention_codes": {g.reason.code for g in groups},
            "rows_per_group": attention.ROWS_PER_GROUP,
            "last_check": SpotCheck.objects.filter(run=run)
            .select_related("signed_by")
            .first(),
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
