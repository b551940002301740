"""The report's "needing attention": records grouped by reason, with the facts
a person needs to act on each (the contact id, the current state, a preview).

The JSON report says what the run did; the ledger says where each record is
now (a relinked image has moved since) and holds what the report leaves out
(the contact id, the derivatives' keys). Rows carry ids and keys only, never
a patient's name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from filemaker_migration import reasons
from filemaker_migration.models import LedgerEntry
from filemaker_migration.presign import presigned_url

# Rows shown per group when the page is not filtered to that group: enough to
# see what the group is about, without a page tens of thousands of pixels tall.
ROWS_PER_GROUP = 25
_CHUNK = 500  # record ids per query (SQLite's bound-parameter limit)


@dataclass
class Row:
    record: dict[str, Any]  # the report's record
    entry: LedgerEntry | None  # the ledger's entry now (None: rolled back since)
    preview: str = ""  # presigned URL of the smallest image stored, if any

    @property
    def tried(self) -> str:
        return reasons.telling_tried(self.record.get("fields_tried"))

    @property
    def moved_on(self) -> bool:
        """The ledger's state differs from the run's outcome (e.g. relinked)."""
        return self.entry is not None and self.entry.state != self.record["outcome"]


@dataclass
class Group:
    reason: reasons.Reason
    outcome: str
    count: int = 0
    rows: list[Row] = field(default_factory=list)


def _entries(record_ids: list[str]) -> dict[str, LedgerEntry]:
    found: dict[str, LedgerEntry] = {}
    for start in range(0, len(record_ids), _CHUNK):
        chunk = record_ids[start : start + _CHUNK]
        for entry in LedgerEntry.objects.filter(record_id__in=chunk):
            found[entry.record_id] = entry
    return found


def _record_order(record: dict[str, Any]) -> tuple[int, str]:
    record_id = str(record.get("record_id", ""))
    return (int(record_id) if record_id.isdigit() else 0, record_id)


def group(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records by reason code, in record order."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(records, key=_record_order):
        groups[reasons.reason_of(record["outcome"], record.get("reason", ""))].append(
            record
        )
    return groups


def build(records: list[dict[str, Any]], *, only: str = "") -> list[Group]:
    """Every group, largest first, with its count; rows for the groups shown:
    with `only`, all rows of that group and none of the others, else the
    first ROWS_PER_GROUP of each."""
    grouped = group(records)
    if only:
        shown = {only: grouped.get(only, [])}
    else:
        shown = {code: rows[:ROWS_PER_GROUP] for code, rows in grouped.items()}
    entries = _entries([str(r["record_id"]) for rows in shown.values() for r in rows])
    return [
        Group(
            reason=reasons.describe(code),
            outcome=rows[0]["outcome"],
            count=len(rows),
            rows=[
                _row(r, entries.get(str(r["record_id"]))) for r in shown.get(code, [])
            ],
        )
        for code, rows in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]


def _row(record: dict[str, Any], entry: LedgerEntry | None) -> Row:
    key = ""
    if entry is not None:
        key = entry.thumbnail_key or entry.s3_key
    return Row(record=record, entry=entry, preview=presigned_url(key) if key else "")
