"""The end-of-run summary printed for people: plain words, then the next step.

The counts are the report's; the wording says what each means for the
clinic, what a dry run predicted (when there is one to compare with), and
which step of the run book (docs/run-book.md) comes next. No patient details and no
object keys: failures are shown by their cause only.
"""

from __future__ import annotations

import json
from pathlib import Path

from filemaker_migration.pipeline.accounting import TRIPWIRE_AFTER
from filemaker_migration.pipeline.accounting import ImportResult

REASONS_SHOWN = 8


def format_summary(
    result: ImportResult, *, predicted: dict[str, int] | None = None
) -> str:
    totals = result.totals
    imported = totals.get("imported", 0)
    unlinked = totals.get("imported_unlinked", 0)
    skipped = totals.get("skipped", 0)
    failed = totals.get("failed", 0)
    would = "would be " if result.dry_run else ""
    title = "Dry run (nothing written)" if result.dry_run else f"Run {result.run_id}"
    minutes = result.seconds / 60
    rate = result.seen / result.seconds if result.seconds else 0.0
    lines = [
        f"{title}: {result.seen:,} image record(s) seen in {minutes:.1f} min "
        f"({rate:.1f} images/s), {result.bytes / 1e6:,.1f} MB.",
        f"  {imported:>7,} {would}imported into their patient's visit "
        f"({result.batches_created:,} new visit batch(es))",
        f"  {unlinked:>7,} {would}kept aside: their patient is not in the app yet "
        "(relink them later)",
        f"  {skipped:>7,} skipped: no usable image, or an id that cannot be used",
        f"  {failed:>7,} failed",
    ]
    reasons = sorted(result.reasons.items(), key=lambda kv: -kv[1])
    for key, count in reasons[:REASONS_SHOWN]:
        outcome, _, reason = key.partition(":")
        cause = result.causes.get(key, "")
        because = f": {cause}" if cause else ""
        lines.append(f"      {count:>6,} {outcome} because {reason}{because}")
    if len(reasons) > REASONS_SHOWN:
        lines.append(f"      ... {len(reasons) - REASONS_SHOWN} more reason(s)")
    used = sum(result.container_usage.values())
    if used:
        sizes = ", ".join(
            f"{field} {100 * count / used:.0f}%"
            for field, count in sorted(
                result.container_usage.items(), key=lambda kv: -kv[1]
            )
        )
        lines.append(f"  container sizes used: {sizes}")
    if predicted:
        lines.append(
            "  the dry run predicted "
            f"{predicted.get('imported', 0):,} imported, "
            f"{predicted.get('imported_unlinked', 0):,} kept aside, "
            f"{predicted.get('skipped', 0):,} skipped"
        )
    if result.stopped_early:
        lines.append(
            f"  STOPPED EARLY: {TRIPWIRE_AFTER} records in a row failed the same "
            f"way at the destination, {result.stopped_early}; fix that, then run "
            "again"
        )
    if result.workers:
        shares = ", ".join(
            f"{w['worker']} {w['records']:,}"
            + (" (lost, its records taken over)" if w["lost"] else "")
            for w in result.workers
        )
        lines.append(f"  records finished by {len(result.workers)} workers: {shares}")
    # FileMaker's licence caps what the Data API sends (error 953 beyond it).
    lines.append(f"  received from FileMaker: {result.filemaker_bytes / 1e6:,.1f} MB")
    if result.halted:
        lines.append(
            "  STOPPED: FileMaker's Data API transfer allowance is used up "
            "(error 953); the records not taken up wait for the next run"
        )
    lines.append(f"  report: {result.report_path}")
    lines.append(f"Next: {next_step(result)}")
    return "\n".join(lines)


def next_step(result: ImportResult) -> str:
    """The run book's next step after this run (docs/run-book.md)."""
    if result.halted:
        return (
            "check the transfer allowance in FileMaker's Admin Console, then "
            "run the import again once it allows (it continues where it stopped)."
        )
    if result.stopped_early:
        return "fix the destination named above and run the import again."
    if result.dry_run:
        return (
            "a trial, `import_filemaker_images --limit 10`, then review it "
            "(run book step 5)."
        )
    if result.failed:
        return (
            "run `import_filemaker_images` again: it retries only what failed "
            "(run book step 7)."
        )
    if result.limit is not None:
        return (
            "review the trial's batches in the admin, `verify_filemaker_images`, "
            "then roll the trial back (run book steps 5 and 6)."
        )
    step = (
        "`verify_filemaker_images --json ... --csv ...` and keep the reports "
        "(run book step 8)"
    )
    if result.totals.get("imported_unlinked"):
        step += (
            "; once the missing patients are in the app, "
            "`relink_filemaker_images` (step 9)"
        )
    return step + "."


def latest_prediction(report_dir: Path) -> dict[str, int] | None:
    """The totals of the newest dry-run report in `report_dir`, if any."""
    reports = sorted(report_dir.glob("import-dry-run-*.json"))
    if not reports:
        return None
    try:
        totals = json.loads(reports[-1].read_text())["totals"]
    except (OSError, ValueError, KeyError):
        return None
    return {k: int(v) for k, v in totals.items() if isinstance(v, int)}
