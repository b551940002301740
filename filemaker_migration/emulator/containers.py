"""Container fields: streaming URLs, the cookie handshake's keys, MD5s, pacing.

A container value is rendered as
``https://{Host}/Streaming_SSL/MainDB/{64 HEX}.{ext}?RCType=EmbeddedRCFileProcessor``.
The 64-hex object token is an HMAC of (layout, record, field, file) under a
per-process secret, so URLs from an earlier emulator run stop working, and
re-reading a record gives the same URL with a fresh lifetime. The
``X-FMS-Session-Key`` cookie is per object, so a client sharing one cookie
jar across parallel downloads meets the 401s of fuzzzerd/fmdata#287.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import secrets
import threading
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STREAMING_PREFIX = "/Streaming_SSL"
COOKIE_NAME = "X-FMS-Session-Key"
CHUNK_SIZE = 64 * 1024

CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "pdf": "application/pdf",
}


def content_type(extension: str) -> str:
    """MIME type from the stored file's extension, as FileMaker Server does."""
    ext = extension.lower()
    if ext in CONTENT_TYPES:
        return CONTENT_TYPES[ext]
    guessed, _ = mimetypes.guess_type(f"x.{ext}")
    return guessed or "application/octet-stream"


@dataclass
class ContainerObject:
    token: str
    path: Path
    extension: str
    cookie: str
    issued_at: float


class ContainerRegistry:
    """Object tokens handed out in records, and their cookies and lifetimes."""

    def __init__(self, clock: Callable[[], float], lifetime: Callable[[], float]):
        self._secret = secrets.token_bytes(32)
        self._clock = clock
        self._lifetime = lifetime
        self._objects: dict[str, ContainerObject] = {}

    def _mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def issue(
        self, key: str, path: Path, host: str, folder: str, *, stale: bool = False
    ) -> str:
        """Register (or refresh) the object for ``key`` and return its URL;
        ``stale``: as if handed out longer ago than a URL lives."""
        token = self._mac(f"object\0{key}\0{path}").upper()
        extension = path.suffix.lstrip(".").lower()
        issued_at = self._clock() - (self._lifetime() + 1 if stale else 0)
        # A plain dict assignment is atomic under the GIL: no lock needed.
        self._objects[token] = ContainerObject(
            token=token,
            path=path,
            extension=extension,
            cookie=self._mac(f"cookie\0{token}")[:40],
            issued_at=issued_at,
        )
        name = f"{token}.{extension}" if extension else token
        return (
            f"https://{host}{STREAMING_PREFIX}/{folder}/{name}"
            "?RCType=EmbeddedRCFileProcessor"
        )

    def lookup(self, name: str) -> ContainerObject | None:
        """The live object for a URL's last path segment, or None (-> 401)."""
        token = name.partition(".")[0].upper()
        obj = self._objects.get(token)
        if obj is None or self._clock() - obj.issued_at > self._lifetime():
            return None
        return obj


class Md5Cache:
    """MD5 of container files, for ``md5:<field>`` calculation fields."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, int], str] = {}

    def md5(self, path: Path) -> str:
        try:
            stat = path.stat()
        except OSError:
            return ""
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if (known := self._cache.get(key)) is not None:
            return known
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
        self._cache[key] = digest.hexdigest()
        return self._cache[key]


class Pacer:
    """Bandwidth cap by reservation: the wait is computed under a short lock
    and slept outside it, so streams sharing a pacer never block each other
    while sleeping."""

    def __init__(
        self,
        rate: Callable[[], int],
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._free_at = 0.0

    def take(self, nbytes: int) -> None:
        rate = self._rate()
        if rate <= 0:
            return
        with self._lock:
            now = self._clock()
            self._free_at = max(now, self._free_at) + nbytes / rate
            wait = self._free_at - now
        if wait > 0:
            self._sleep(wait)


def chunk_size(*rates: int) -> int:
    """Small chunks under a cap (about 10 per second) so pacing stays smooth."""
    caps = [rate for rate in rates if rate > 0]
    if not caps:
        return CHUNK_SIZE
    return max(1, min(CHUNK_SIZE, min(caps) // 10))


def stream_file(
    path: Path, per_stream: Pacer, total: Pacer, chunk: int
) -> Iterator[bytes]:
    """Yield the file in chunks, paced by this stream's and the shared cap."""
    with path.open("rb") as fh:
        while data := fh.read(chunk):
            per_stream.take(len(data))
            total.take(len(data))
            yield data
