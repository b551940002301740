"""Derivatives for Image rows that were made before the import made them."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from clinic.images.models import Image
from filemaker_migration.derivative_store import store_derivatives
from filemaker_migration.s3store import ObjectStore

logger = logging.getLogger(__name__)


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
