"""Where each record ends: its outcome, counted, reported and shown.

Every record the run sees ends here exactly once, whichever stage settled it;
the counts, the JSON report and the progress line are therefore the same
records by construction.
"""

from __future__ import annotations

import logging

from filemaker_migration.models import LedgerEntry
from filemaker_migration.pipeline.accounting import Tally
from filemaker_migration.pipeline.progress import Progress
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.report import ReportWriter
from filemaker_migration.source import SourceRecord
from filemaker_migration.source import record_notes as notes_for

logger = logging.getLogger(__name__)

EXPORTED = ("imported", "imported_unlinked")


def with_notes(outcome: RecordOutcome, notes: list[dict[str, str]]) -> RecordOutcome:
    """`outcome` with its notes; the first is its reason if it has none."""
    outcome.notes = notes
    if notes and not outcome.reason:
        outcome.reason, outcome.detail = notes[0]["note"], notes[0]["detail"]
    return outcome


def outcome_of(
    src: SourceRecord, outcome: str, reason: str, detail: str
) -> RecordOutcome:
    made = RecordOutcome(
        record_id=src.record_id,
        filemaker_id=src.filemaker_id or src.filemaker_id_raw[:64],
        outcome=outcome,
        reason=reason,
        detail=detail,
    )
    return with_notes(made, notes_for(src.image_date_raw))


def failure_of(
    src: SourceRecord,
    reason: str,
    exc: BaseException,
    tried: list[dict] | None = None,
) -> RecordOutcome:
    """A failed record's outcome; the error is named by its type in the log
    (messages may quote field values) and in full only in the report."""
    logger.warning(
        "record %s failed: %s (%s)", src.filemaker_id, reason, type(exc).__name__
    )
    outcome = outcome_of(src, "failed", reason, error_text(exc))
    outcome.fields_tried = tried or []
    return outcome


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def success_of(entry: LedgerEntry, *, batch_created: bool) -> RecordOutcome:
    made = RecordOutcome(
        record_id=entry.record_id,
        filemaker_id=entry.filemaker_id,
        outcome="imported" if entry.image_ref else "imported_unlinked",
        container_field=entry.container_field,
        fields_tried=entry.fields_tried,
        s3_key=entry.s3_key,
        sha256=entry.sha256,
        size=entry.size or 0,
        content_type=entry.content_type,
        batch_created=batch_created,
    )
    notes = notes_for(entry.image_date_raw, entry.original_filename, entry.s3_key)
    return with_notes(made, notes)


class Outcomes:
    """The run's record of outcomes (thread-safe: every stage's threads call it)."""

    def __init__(self, report: ReportWriter, progress: Progress) -> None:
        self.report = report
        self.progress = progress
        self.tally = Tally()

    def finish(self, outcome: RecordOutcome) -> None:
        self.tally.add(outcome)
        self.report.add(outcome)
        self.progress.advance(outcome.outcome)
