"""Short-lived presigned GET URLs for an image's objects, made per request.

URLs are never stored or logged: each page or API answer signs fresh ones,
valid for settings.S3["PRESIGN_SECONDS"] (300 s by default). The bucket stays
private; whoever holds a URL can fetch that one object until it expires, so
only staff pages hand them out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import quote

from filemaker_migration import conf
from filemaker_migration.conf import object_store
from filemaker_migration.conf import store_settings
from filemaker_migration.s3store import ObjectStore
from filemaker_migration.s3store import StoreSettings
from filemaker_migration.source import honest_filename

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ ()-]+")


@dataclass(frozen=True)
class ImageUrls:
    thumbnail: str
    display: str
    original: str  # a download (Content-Disposition: attachment)


def presign_seconds() -> int:
    return int(conf.s3()["PRESIGN_SECONDS"])


def store() -> ObjectStore:
    # One boto3 client per distinct configuration: building a client costs
    # tens of milliseconds, far more than signing a URL (which is local).
    return _cached_store(store_settings())


@functools.lru_cache(maxsize=8)
def _cached_store(_settings: StoreSettings) -> ObjectStore:
    return object_store(max_pool=8)


def presigned_url(key: str, *, download_name: str = "") -> str:
    return store().presigned_get(
        key,
        expires_in=presign_seconds(),
        content_disposition=attachment(download_name) if download_name else "",
    )


def urls_for(
    s3_key: str, thumbnail_key: str, display_key: str, download_name: str
) -> ImageUrls:
    """The URLs a page shows; a derivative not made yet falls back to the original."""
    return ImageUrls(
        thumbnail=presigned_url(thumbnail_key or s3_key),
        display=presigned_url(display_key or s3_key),
        original=presigned_url(s3_key, download_name=download_name),
    )


def default_download_name(
    s3_key: str, filemaker_id: str, original_filename: str
) -> str:
    # The key's extension is the bytes' type (keys.py); the name keeps its
    # stem but never claims another type (source.honest_filename).
    extension = s3_key.rsplit(".", 1)[-1]
    if original_filename:
        return honest_filename(original_filename, extension)
    return f"{filemaker_id.upper()}.{extension}"


def attachment(filename: str) -> str:
    """Content-Disposition for a download (RFC 6266: ASCII fallback + UTF-8)."""
    fallback = _UNSAFE_FILENAME.sub("_", filename).strip() or "image"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
