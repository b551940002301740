"""Making an image's derivatives and storing them beside its original in S3."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from clinic.filemaker.s3store import ObjectStore
from clinic.images.derivatives import Derivatives
from clinic.images.derivatives import derivatives_for
from clinic.images.models import Image
from clinic.images.storage_keys import derivative_keys

logger = logging.getLogger(__name__)


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


def backfill_derivatives(
    store: ObjectStore, images: Iterable[Image], *, workers: int = 4
) -> int:
    """Make the missing derivatives of images already in S3; return how many."""

    def one(image: Image) -> tuple[str, str]:
        return store_derivatives(store, image.s3_key, store.read(image.s3_key))

    pending = [image for image in images if not image.thumbnail_key]
    # Threads only talk to S3; the rows are updated here, on this thread's
    # database connection.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for image, (thumbnail_key, display_key) in zip(
            pending, pool.map(one, pending), strict=True
        ):
            Image.objects.filter(pk=image.pk).update(
                thumbnail_key=thumbnail_key, display_key=display_key
            )
            logger.info("derivatives made for FileMaker id %s", image.filemaker_id)
    return len(pending)
