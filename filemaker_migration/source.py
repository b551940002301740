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
# File names are kept whole up to here (the ledger's column), so that a name
# longer than the clinic's column is refused by name (targets/validation.py),
# not cut short without a word.
MAX_FILENAME = 1024


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
    # The date field's text when it holds something that is not a date
    # ("13/45/2020", "yesterday"): kept, since image_date is then None as for
    # an empty field. "" when the date was read or the field was empty.
    image_date_raw: str = ""


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
        original_filename=clean_text(data.get(fields.filename, ""), MAX_FILENAME),
        containers=containers,
        md5=md5.strip().lower() if isinstance(md5, str) else "",
        modified_at=clean_text(data.get(fields.modified_at, ""), 40),
        exported=bool(clean_text(data.get(fields.export_date, ""))),
        image_date_raw=unreadable_date(data.get(fields.date, "")),
    )


def unreadable_date(value: Any) -> str:
    """The text of a date field that is neither empty nor a date ("" otherwise)."""
    text = clean_text(value)
    return text if text and parse_date(value) is None else ""


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


# -- file names ------------------------------------------------------------------

# Extensions that name a file type, by the type the bytes have (imagecheck's
# extensions) and the other spellings of it. Anything else after a dot, as in
# "visit 12.03.2020" or "J.Smith", is part of the name, not a claim of type.
_SPELLINGS = {
    "jpg": frozenset({"jpg", "jpeg", "jpe", "jfif", "jif"}),
    "tif": frozenset({"tif", "tiff"}),
    "heic": frozenset({"heic", "heif", "hif"}),
}
_TYPE_EXTENSIONS = frozenset(
    {"png", "gif", "webp", "bmp", "dib", "avif", "jp2", "psd", "svg", "ico"}
    | {"dng", "raw", "cr2", "nef", "arw", "orf", "dcm", "pdf", "doc", "docx"}
    | {"txt", "rtf", "htm", "html", "xml", "zip", "mov", "mp4", "avi"}
).union(*_SPELLINGS.values())


def named_extension(name: str) -> str:
    """The type a file name claims by its extension, lower-case ("" when none)."""
    stem, dot, extension = name.rpartition(".")
    extension = extension.strip().lower()
    return extension if dot and stem.strip() and extension in _TYPE_EXTENSIONS else ""


def extension_mismatch(name: str, extension: str) -> bool:
    """Does `name` claim another type than the bytes' (`extension`, as in keys)?"""
    named = named_extension(name)
    return bool(named) and named not in _SPELLINGS.get(extension, {extension})


def honest_filename(name: str, extension: str) -> str:
    """`name` as a download: with the bytes' extension where it claims another
    type or none at all ("" stays ""). The name itself is kept, as given, for
    provenance; only what a download is called changes."""
    if not name:
        return ""
    named = named_extension(name)
    if named in _SPELLINGS.get(extension, {extension}):
        return name
    stem = name.rpartition(".")[0] if named else name
    return f"{stem.rstrip()}.{extension}"


# -- notes: what a person should know of a record besides its outcome ----------

UNREADABLE_DATE = "unreadable_date"
EXTENSION_MISMATCH = "extension_mismatch"


def record_notes(
    date_raw: str, filename: str = "", s3_key: str = ""
) -> list[dict[str, str]]:
    """A record's notes: its unreadable date (the text as FileMaker holds it),
    and a file name claiming another type than its bytes (`s3_key`'s extension).

    Reports carry no file names (one may hold a patient's name), so the
    mismatch is told by the two extensions alone.
    """
    notes = []
    if date_raw:
        notes.append({"note": UNREADABLE_DATE, "detail": date_raw})
    extension = s3_key.rsplit(".", 1)[-1] if "." in s3_key else ""
    if extension and extension_mismatch(filename, extension):
        notes.append(
            {
                "note": EXTENSION_MISMATCH,
                "detail": f"named .{named_extension(filename)}, the bytes are "
                f".{extension}: downloads are named .{extension}",
            }
        )
    return notes
