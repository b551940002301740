"""Reading image records from FileMaker: stable paging and field parsing.

Paging never uses an offset over "NexusExportDate is empty": the run itself
empties that found set as it marks records, and an offset over a shrinking set
skips records (the peer project lost ~45% of an import that way). Instead each
page is a find for `recid > last seen`, sorted by recid, so marking records
cannot move the window.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import Record
from filemaker_migration.dataapi import parse_date
from filemaker_migration.fields import ImageFields
from filemaker_migration.keys import canonical_uuid

logger = logging.getLogger(__name__)

MAX_TEXT = 200


@dataclass(frozen=True)
class SourceRecord:
    """One FileMaker image record, parsed; raw values kept for the ledger."""

    record_id: str
    mod_id: str
    recid: int | None
    filemaker_id_raw: str
    filemaker_id: str | None  # canonical upper-case UUID, None when invalid
    contact_id: str  # canonical upper-case UUID, or the raw value when invalid
    image_type: str
    image_date: dt.date | None
    original_filename: str
    containers: tuple[tuple[str, str], ...]  # (field, url) in waterfall order
    md5: str  # FileMaker's MD5 of the main container, "" when not offered
    modified_at: str
    exported: bool


def clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    """A field value as one line of printable text, at most `limit` characters."""
    if value is None:
        return ""
    text = str(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text[:limit]


def parse_record(
    record: Record, fields: ImageFields, *, use_thumbnail: bool
) -> SourceRecord:
    data = record.field_data
    raw_id = clean_text(data.get(fields.id, ""))
    contact_raw = clean_text(data.get(fields.contact_id, ""), 64)
    order = list(fields.containers) + ([fields.thumbnail] if use_thumbnail else [])
    containers = tuple(
        (name, data[name])
        for name in order
        if isinstance(data.get(name), str) and data[name].strip()
    )
    recid = data.get(fields.recid, "")
    try:
        recid_value = int(recid) if recid not in ("", None) else None
    except (TypeError, ValueError, OverflowError):
        recid_value = None
    md5 = data.get(fields.md5, "")
    return SourceRecord(
        record_id=record.record_id,
        mod_id=record.mod_id,
        recid=recid_value,
        filemaker_id_raw=raw_id,
        filemaker_id=canonical_uuid(raw_id),
        contact_id=canonical_uuid(contact_raw) or contact_raw,
        image_type=clean_text(data.get(fields.type, "")),
        image_date=parse_date(data.get(fields.date, "")),
        original_filename=clean_text(data.get(fields.filename, ""), 255),
        containers=containers,
        md5=md5.strip().lower() if isinstance(md5, str) else "",
        modified_at=clean_text(data.get(fields.modified_at, ""), 40),
        exported=bool(clean_text(data.get(fields.export_date, ""))),
    )


def iter_unexported(
    client: DataAPIClient,
    layout: str,
    fields: ImageFields,
    *,
    page_size: int,
) -> Iterator[tuple[list[Record], int]]:
    """Yield (page, found_count) for the records whose export date is empty.

    Pages by recid; records with an empty recid cannot be paged stably: they
    are counted by `iter_without_recid` and reported, not silently passed over.
    """
    last = 0  # FileMaker's record ids start at 1
    sort = [{"fieldName": fields.recid, "sortOrder": "ascend"}]
    found_total: int | None = None
    while True:
        query = {fields.export_date: "=", fields.recid: f">{last}"}
        page = client.find(layout, [query], sort=sort, limit=page_size)
        if found_total is None:
            found_total = page.found_count
        if not page.records:
            return
        yield page.records, found_total
        last_recid = page.records[-1].get(fields.recid, None)
        try:
            last = int(last_recid)
        except (TypeError, ValueError, OverflowError):
            # FileMaker sorts empty values first, so this cannot happen while
            # the query asks for recid > N; stop rather than loop forever.
            logger.error("paging stopped: a page ended with an empty recid")
            return
        if len(page.records) < page_size:
            return


def iter_without_recid(
    client: DataAPIClient, layout: str, fields: ImageFields, *, limit: int = 1000
) -> list[Record]:
    """Unexported records whose recid is empty (they cannot be paged stably)."""
    query = [{fields.export_date: "=", fields.recid: "="}]
    return client.find(layout, query, limit=limit).records
