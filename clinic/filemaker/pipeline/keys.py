"""S3 keys, built only from validated values (no Django imports).

{prefix}/{patient_uuid}/{YYYY-MM-DD | unknown-date}/{FILEMAKER_ID}.{ext}
{prefix}/unlinked/{type-slug | unknown-type}/{FILEMAKER_ID}.{ext}
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
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
    patient_id: uuid.UUID,
    date: dt.date | None,
    filemaker_id: str,
    ext: str,
) -> str:
    folder = date.isoformat() if date else "unknown-date"
    return f"{prefix}/{patient_id}/{folder}/{_name(filemaker_id, ext)}"


def unlinked_key(prefix: str, image_type: str, filemaker_id: str, ext: str) -> str:
    return f"{prefix}/unlinked/{type_slug(image_type)}/{_name(filemaker_id, ext)}"


def _name(filemaker_id: str, ext: str) -> str:
    canonical = canonical_uuid(filemaker_id)
    if canonical is None or canonical != filemaker_id:
        raise ValueError("a key needs a canonical upper-case FileMaker UUID")
    if ext not in _EXTENSIONS:
        raise ValueError(f"unexpected extension {ext!r}")
    return f"{canonical}.{ext}"
