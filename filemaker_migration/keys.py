"""The S3 key grammar, in one place, built only from validated values (no Django).

    {prefix}/{patient_ref}/{YYYY-MM-DD | unknown-date}/{FILEMAKER_ID}.{ext}
    {prefix}/unlinked/{type-slug | unknown-type}/{FILEMAKER_ID}.{ext}
    {folder of the current key}/{FILEMAKER_ID}.v{N}.{ext}        (refresh)
    {stem of an original}.thumb.jpg / {stem}.display.jpg           (gallery)

`patient_ref` is the target's reference of the patient (its primary key as a
string: a UUID or an integer), which is why it must be a plain token.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import uuid

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_PATIENT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_EXTENSIONS = frozenset({"jpg", "png", "gif", "tif", "webp", "bmp", "heic"})


def canonical_uuid(value: object) -> str | None:
    """The upper-case canonical form of a UUID, or None when `value` is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not re.fullmatch(
        r"\{?[0-9A-Fa-f]{8}(-?[0-9A-Fa-f]{4}){3}-?[0-9A-Fa-f]{12}\}?", text
    ):
        return None
    return str(uuid.UUID(text)).upper()


def type_slug(image_type: str) -> str:
    """The Type lower-cased with non-alphanumerics as '-' (ASCII only)."""
    slug = _NON_ALNUM.sub("-", image_type.lower()).strip("-")
    return slug[:64].strip("-") or "unknown-type"


def linked_key(
    prefix: str,
    patient_ref: str,
    date: dt.date | None,
    filemaker_id: str,
    ext: str,
) -> str:
    return f"{linked_folder(prefix, patient_ref, date)}/{_name(filemaker_id, ext)}"


def linked_folder(prefix: str, patient_ref: str, date: dt.date | None) -> str:
    """Where a patient's images of one visit live."""
    patient = str(patient_ref)
    if not _PATIENT_REF.fullmatch(patient):
        raise ValueError(
            "a patient's folder needs a plain reference (letters, digits, -)"
        )
    return f"{prefix}/{patient}/{date.isoformat() if date else 'unknown-date'}"


def unlinked_key(prefix: str, image_type: str, filemaker_id: str, ext: str) -> str:
    return f"{prefix}/unlinked/{type_slug(image_type)}/{_name(filemaker_id, ext)}"


def versioned_key(current_key: str, filemaker_id: str, version: int, ext: str) -> str:
    """{folder of the current key}/{FILEMAKER_ID}.v{version}.{ext}."""
    if canonical_uuid(filemaker_id) != filemaker_id or not ext.isalnum():
        raise ValueError("a versioned key needs a canonical id and a plain extension")
    return f"{posixpath.dirname(current_key)}/{filemaker_id}.v{version}.{ext}"


def relinked_key(
    current_key: str,
    prefix: str,
    patient_ref: str,
    date: dt.date | None,
    filemaker_id: str,
) -> str:
    """An unlinked object's key in its patient's folder, same file name (a
    version suffix kept)."""
    name = posixpath.basename(current_key)
    if not name.startswith(f"{filemaker_id}."):
        raise ValueError(f"unexpected ledger key {current_key}")
    return f"{linked_folder(prefix, patient_ref, date)}/{name}"


def quarantine_key(s3_key: str, prefix: str) -> str:
    """Where repair moves an object no ledger entry accounts for, or whose
    bytes are not the ledger's: `<prefix>-quarantine/<the key's rest>`,
    beside the prefix and not under it, so verify (which reads the prefix)
    no longer counts it, and nothing is deleted."""
    prefix = prefix.rstrip("/")
    rest = s3_key.removeprefix(f"{prefix}/")
    return f"{prefix}-quarantine/{rest}"


def derivative_keys(s3_key: str) -> tuple[str, str]:
    """(thumbnail_key, display_key) for an original's key.

    `.../{FILEMAKER_ID}.png` -> `.../{FILEMAKER_ID}.thumb.jpg` and
    `.../{FILEMAKER_ID}.display.jpg`: same folder, so a patient's or a date's
    objects stay together, and the suffixes never collide with an original
    (whose extension is one of the image types, never `.thumb.jpg`).
    """
    if not s3_key or s3_key.endswith("/"):
        raise ValueError("an original's key is needed")
    stem, _ext = posixpath.splitext(s3_key)
    return f"{stem}.thumb.jpg", f"{stem}.display.jpg"


def _name(filemaker_id: str, ext: str) -> str:
    canonical = canonical_uuid(filemaker_id)
    if canonical is None or canonical != filemaker_id:
        raise ValueError("a key needs a canonical upper-case FileMaker UUID")
    if ext not in _EXTENSIONS:
        raise ValueError(f"unexpected extension {ext!r}")
    return f"{canonical}.{ext}"
