"""Reason codes in plain words, with what a person does about each (no Django).

The ledger and the JSON report keep short codes (`no_container`,
`s3_put_failed`, ...), which are stable and easy to filter on; people read
the label and the advice. One home for them, so that the report page, the
admin and the console can say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# An unlinked record carries no reason code of its own (nothing went wrong:
# its patient is not in the database yet), or a note as its reason; pages
# show it under this one, since relinking is what it needs first.
PATIENT_NOT_FOUND = "patient_not_found"
# A note (pipeline/outcomes.py) that makes an imported record worth a look:
# its image went to the patient's "Unknown date" batch.
UNREADABLE_DATE = "unreadable_date"


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    advice: str


_REASONS = {
    PATIENT_NOT_FOUND: (
        "Patient not found",
        "The image is safe in S3 under unlinked/. Import the contact "
        "(import_filemaker_patients) or fix the record's id_Contact in "
        "FileMaker, then run relink_filemaker_images.",
    ),
    UNREADABLE_DATE: (
        "Date unreadable: filed under Unknown date",
        "FileMaker's date field holds the text shown, not a date, so the "
        "image is in the patient's Unknown date batch. Correct the date in "
        "FileMaker; moving the image to its visit is done by hand (a refresh "
        "does not move images between batches).",
    ),
    "extension_mismatch": (
        "File name claims another type",
        "Nothing to do: downloads are named after the bytes' real type.",
    ),
    "no_container": (
        "No image in FileMaker",
        "Every container field of the record is empty: there is nothing to "
        "migrate. Check the record in FileMaker if a picture was expected.",
    ),
    "no_valid_image": (
        "No readable image",
        "No container holds a complete image (see the fields tried). Open the "
        "record in FileMaker and insert the picture again if it matters.",
    ),
    "invalid_filemaker_id": (
        "FileMaker id is not a UUID",
        "Correct the record's id in FileMaker, then run the import again.",
    ),
    "duplicate_filemaker_id": (
        "Same FileMaker id as another record",
        "Give one of the two records a new id in FileMaker, then run the import again.",
    ),
    "row_refused": (
        "The clinic's model refuses a value",
        "The detail names the model field and the FileMaker field: correct the "
        "value in FileMaker (or widen the model field), then run the import again.",
    ),
    "no_recid": (
        "No recid",
        "Fill the record's recid (e.g. Get(RecordID)), then run the import again.",
    ),
    "md5_mismatch": (
        "Bytes differ from FileMaker's MD5",
        "Run the import again; if it stays, the container in FileMaker needs a look.",
    ),
    "download_failed": (
        "Download from FileMaker failed",
        "Run the import again: it retries exactly the failed records.",
    ),
    "s3_put_failed": (
        "Upload to S3 failed",
        "Check the bucket and its credentials (the detail names S3's error), "
        "then run the import again.",
    ),
    "s3_conflict": (
        "Other bytes already at the S3 key",
        "Never overwritten. Compare the two (verify_filemaker_images) before "
        "anything else.",
    ),
    "database_write_failed": (
        "Database write failed",
        "Check the database (the detail names its error), then run the import again.",
    ),
    "filemaker_writeback_failed": (
        "FileMaker not told",
        "The image is stored; run the import again to set NexusExportDate.",
    ),
    "unexpected_error": (
        "Unexpected error",
        "Read the detail, then run the import again.",
    ),
    "rolled_back": (
        "Rolled back",
        "A rollback is under way or was interrupted: run it again.",
    ),
}

# What happened to one container field the waterfall tried.
_TRIED = {
    "used": "used",
    "empty": "empty",
    "not_an_image": "not an image",
    "truncated_or_corrupt": "truncated or corrupt",
    "decompression_bomb": "implausibly large picture",
    "too_large": "file too large",
    "md5_mismatch": "MD5 differs",
}


def reason_of(outcome: str, reason: str) -> str:
    """The code a record is grouped under."""
    if outcome == "imported_unlinked":
        return PATIENT_NOT_FOUND
    return reason


def needs_attention(record: dict[str, Any]) -> bool:
    """A report record a person should look at: not a patient's image yet,
    or one filed under an unknown date because its date was unreadable."""
    if record["outcome"] in ("failed", "skipped", "imported_unlinked"):
        return True
    notes = record.get("notes") or []
    return any(note.get("note") == UNREADABLE_DATE for note in notes)


def describe(code: str) -> Reason:
    label, advice = _REASONS.get(code, (code.replace("_", " ").capitalize(), ""))
    return Reason(code=code, label=label or "No reason", advice=advice)


def size_text(size: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("KB", 1_000)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def tried_text(tried: list[dict[str, Any]] | None) -> str:
    """The fields tried, as one line people read:
    `image_Full: empty · image_large: used (812.0 KB)`."""
    parts = []
    for attempt in tried or []:
        result = str(attempt.get("result", ""))
        text = f"{attempt.get('field', '?')}: {_TRIED.get(result, result)}"
        if attempt.get("size"):
            text += f" ({size_text(int(attempt['size']))})"
        parts.append(text)
    return " · ".join(parts)


def telling_tried(tried: list[dict[str, Any]] | None) -> str:
    """The fields tried, when they tell something: nothing for a record whose
    first container was simply used."""
    tried = tried or []
    if len(tried) == 1 and tried[0].get("result") == "used":
        return ""
    return tried_text(tried)
