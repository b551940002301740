"""The gallery's presigned URLs for an Image row (see filemaker_migration.presign)."""

from __future__ import annotations

from clinic.images.models import Image
from filemaker_migration.presign import ImageUrls
from filemaker_migration.presign import default_download_name
from filemaker_migration.presign import presign_seconds
from filemaker_migration.presign import presigned_url
from filemaker_migration.presign import urls_for

__all__ = ["image_urls", "presign_seconds", "presigned_url"]


def image_urls(image: Image) -> ImageUrls:
    return urls_for(
        image.s3_key,
        image.thumbnail_key,
        image.display_key,
        default_download_name(
            image.s3_key,
            str(image.filemaker_id or image.id),
            image.original_filename,
        ),
    )
