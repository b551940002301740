"""What becomes of a record's steps: a real run keeps them, a dry run predicts.

The stages (stages.py) do the same work in both modes — page, claim ids,
download and check — and hand each decision to the run's sink:

    LedgerSink        a real run: each decision is a ledger transition, and a
                      checked record goes on to be stored, committed and
                      written back
    PredictingSink    a dry run: writes nothing anywhere; remembers the ids and
                      batches it would have created, so its report predicts
                      what the real run will do
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from filemaker_migration import ledger
from filemaker_migration.crashpoints import crashpoint
from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.pipeline.outcomes import outcome_of
from filemaker_migration.pipeline.outcomes import with_notes
from filemaker_migration.pipeline.persist import known_batch
from filemaker_migration.pipeline.report import RecordOutcome
from filemaker_migration.pipeline.select import Chosen
from filemaker_migration.source import SourceRecord
from filemaker_migration.source import record_notes


@dataclass(frozen=True)
class Work:
    """One record on its way through the stages."""

    src: SourceRecord
    entry: LedgerEntry | None  # None in a dry run, which keeps no ledger
    patient: str | None  # the target's ref of the patient; None: unlinked


class LedgerSink:
    def __init__(self, run: ImportRun) -> None:
        self.run = run

    def register(self, src: SourceRecord, previous: LedgerEntry | None) -> LedgerEntry:
        entry = ledger.register(src, self.run, previous)
        crashpoint("after_register")
        return entry

    def settle(self, src: SourceRecord, reason: str, detail: str) -> None:
        """Skipped before any download (invalid or duplicate id, no recid)."""
        # Rare: a lookup of its own is fine.
        previous = ledger.entries_for([src]).get(src.record_id)
        entry = ledger.register(src, self.run, previous)
        ledger.record_skipped(entry, reason=reason, detail=detail, fields_tried=[])

    def planned(self, src: SourceRecord) -> str | None:
        return None  # the ledger's holders say which record holds an id

    def claim(self, src: SourceRecord) -> None:
        pass  # registering the record is its claim

    def needs_download(self, work: Work) -> bool:
        assert work.entry is not None
        return ledger.next_step(work.entry) == ledger.STEP_SELECT

    def for_gallery(self, work: Work) -> bool:
        # Images that get a row now get the gallery's JPEGs, made while the
        # check's pixels are at hand.
        return work.patient is not None

    def skipped(self, work: Work, reason: str, detail: str, tried: list[Any]) -> None:
        assert work.entry is not None
        ledger.record_skipped(
            work.entry, reason=reason, detail=detail, fields_tried=tried
        )

    def failed(
        self, work: Work, reason: str, error: str, tried: list[Any] | None
    ) -> None:
        if work.entry is not None:
            ledger.record_failed(
                work.entry, reason=reason, error=error, fields_tried=tried
            )

    def checked(
        self,
        work: Work,
        chosen: Chosen,
        key: str,
        hand_on: Callable[[Work, Chosen | None], None],
    ) -> RecordOutcome | None:
        """The bytes are good: on to be stored (None: handed on)."""
        hand_on(work, chosen)
        return None


class PredictingSink:
    def __init__(self) -> None:
        self._ids: dict[str, str] = {}  # id -> record id, by the producer alone
        self._batches: set[tuple[str, dt.date | None]] = set()  # by fetchers
        self._lock = threading.Lock()

    def register(self, src: SourceRecord, previous: LedgerEntry | None) -> None:
        return None

    def settle(self, src: SourceRecord, reason: str, detail: str) -> None:
        pass

    def planned(self, src: SourceRecord) -> str | None:
        """The record of this dry run that holds the id already, if another."""
        holder = self._ids.get(src.filemaker_id or "")
        return holder if holder != src.record_id else None

    def claim(self, src: SourceRecord) -> None:
        assert src.filemaker_id is not None
        self._ids[src.filemaker_id] = src.record_id

    def needs_download(self, work: Work) -> bool:
        return True

    def for_gallery(self, work: Work) -> bool:
        return False  # nothing is stored, so no gallery JPEGs are made

    def skipped(self, work: Work, reason: str, detail: str, tried: list[Any]) -> None:
        pass

    def failed(
        self, work: Work, reason: str, error: str, tried: list[Any] | None
    ) -> None:
        pass

    def checked(
        self,
        work: Work,
        chosen: Chosen,
        key: str,
        hand_on: Callable[[Work, Chosen | None], None],
    ) -> RecordOutcome:
        """What a real run would do with this record."""
        try:
            return self._predict(work, chosen, key)
        finally:
            chosen.close()

    def _predict(self, work: Work, chosen: Chosen, key: str) -> RecordOutcome:
        src, patient = work.src, work.patient
        batch_created = False
        if patient is not None:
            slot = (patient, src.image_date)
            with self._lock:
                if slot not in self._batches:
                    self._batches.add(slot)
                    batch_created = known_batch(patient, src.image_date) is None
        outcome = outcome_of(
            src, "imported" if patient else "imported_unlinked", "", ""
        )
        outcome.container_field = chosen.field
        outcome.fields_tried = chosen.tried
        outcome.s3_key = key
        outcome.sha256 = chosen.download.sha256
        outcome.size = chosen.download.size
        outcome.content_type = chosen.info.type.content_type
        outcome.batch_created = batch_created
        # As success_of notes them for the real run, from the same facts.
        notes = record_notes(src.image_date_raw, src.original_filename, key)
        return with_notes(outcome, notes)


Sink = LedgerSink | PredictingSink
