"""Making an image's derivatives and storing them beside its original in S3."""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO

from filemaker_migration.derivatives import Derivatives
from filemaker_migration.derivatives import derivatives_for
from filemaker_migration.keys import derivative_keys
from filemaker_migration.s3store import ObjectStore


def store_derivatives(
    store: ObjectStore, s3_key: str, original: bytes | BinaryIO
) -> tuple[str, str]:
    """Make and upload the thumbnail (and, when needed, display) JPEG of `original`.

    Returns (thumbnail_key, display_key); see `store_made`.
    """
    stream = io.BytesIO(original) if isinstance(original, bytes) else original
    return store_made(store, s3_key, derivatives_for(stream))


def store_made(store: ObjectStore, s3_key: str, made: Derivatives) -> tuple[str, str]:
    """Upload derivatives already made; return (thumbnail_key, display_key).

    Without a display image the original is its own (a clean, display-sized
    JPEG, see `display_ready`): display_key is `s3_key`, no second copy, no
    quality lost. Create-only like every other put: running it again for the
    same bytes is a no-op (Pillow's JPEG encoder is deterministic for a given
    version).
    """
    thumbnail_key, display_key = derivative_keys(s3_key)
    uploads = [(thumbnail_key, made.thumbnail)]
    if made.display is None:
        display_key = s3_key
    else:
        uploads.append((display_key, made.display))
    for key, derivative in uploads:
        store.put_create_only(
            key,
            io.BytesIO(derivative.data),
            sha256=hashlib.sha256(derivative.data).hexdigest(),
            content_type=derivative.content_type,
        )
    return thumbnail_key, display_key
