"""Where an image's derivatives live in S3, next to its original."""

from __future__ import annotations

import posixpath


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
