"""Reading an import run's JSON report for the report page (see pipeline/report.py)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filemaker_migration import reasons as reason_codes
from filemaker_migration.models import ImportRun


class ReportMissingError(Exception):
    """The run has no report file (a dry run elsewhere, moved, or deleted)."""


@dataclass(frozen=True)
class ReportSummary:
    header: dict[str, Any]
    totals: dict[str, int]
    container_usage: list[tuple[str, int, float]]  # field, count, percent
    reasons: list[tuple[str, str, int]]  # outcome, reason, count
    attention: list[dict[str, Any]]
    imported_ids: list[str]  # FileMaker ids of the records imported and linked


def report_path(run: ImportRun) -> Path:
    if not run.report_path:
        raise ReportMissingError(f"run {run.pk} has no report")
    path = Path(run.report_path)
    if not path.is_file():
        raise ReportMissingError(f"run {run.pk}: report file is missing")
    return path


def load(run: ImportRun) -> dict[str, Any]:
    return json.loads(report_path(run).read_text(encoding="utf-8"))


def summarize(report: dict[str, Any]) -> ReportSummary:
    records = report.get("records", [])
    usage = report.get("container_usage", {})
    used = sum(usage.values()) or 1
    # Unlinked records have no reason code; they are counted under the one
    # the pages show them with.
    reasons = Counter(
        (r["outcome"], reason_codes.reason_of(r["outcome"], r.get("reason", "")))
        for r in records
    )
    return ReportSummary(
        header={k: v for k, v in report.items() if k != "records"},
        totals=report.get("totals", {}),
        container_usage=[
            (name, count, round(100 * count / used, 1))
            for name, count in sorted(usage.items(), key=lambda kv: -kv[1])
        ],
        reasons=sorted(
            ((outcome, reason, n) for (outcome, reason), n in reasons.items()),
            key=lambda row: (row[0], -row[2], row[1]),
        ),
        attention=[r for r in records if reason_codes.needs_attention(r)],
        imported_ids=[
            r["filemaker_id"]
            for r in records
            if r["outcome"] == "imported" and r.get("filemaker_id")
        ],
    )
