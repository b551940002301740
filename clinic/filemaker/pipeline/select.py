"""The container waterfall: the best-quality field whose bytes are a real image.

A field is passed over only for what its bytes are (empty, not an image,
truncated, too large), and every pass-over is recorded. A transient download
error is raised, never a reason to fall back: a smaller picture must not
replace a full-size one because the network hiccupped.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import BinaryIO

from PIL import Image as PILImage

from clinic.filemaker.dataapi import ContainerDownload
from clinic.filemaker.dataapi import ContainerTooLargeError
from clinic.filemaker.dataapi import ContainerUnauthorizedError
from clinic.filemaker.dataapi import DataAPIClient
from clinic.filemaker.imagecheck import ImageInfo
from clinic.filemaker.imagecheck import InvalidImageError
from clinic.filemaker.imagecheck import decode_image
from clinic.filemaker.pipeline.source import SourceRecord
from clinic.images.derivatives import DISPLAY_PX
from clinic.images.derivatives import THUMBNAIL_PX
from clinic.images.derivatives import Derivatives
from clinic.images.derivatives import derivatives_for
from clinic.images.derivatives import derivatives_of
from clinic.images.derivatives import display_ready

# Bytes kept in memory per download before spilling to a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024


class NoUsableImageError(Exception):
    """No container of the record holds a usable image (a skip, with a reason)."""

    def __init__(self, reason: str, detail: str, tried: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.tried = tried


class ChecksumMismatchError(Exception):
    """The bytes differ from FileMaker's own MD5 of the container."""

    def __init__(self, field_name: str, tried: list[dict[str, Any]]) -> None:
        super().__init__(f"{field_name}: downloaded bytes do not match FileMaker's MD5")
        self.tried = tried


@dataclass
class Chosen:
    field: str
    body: BinaryIO
    download: ContainerDownload
    info: ImageInfo
    tried: list[dict[str, Any]] = field(default_factory=list)
    # With `for_gallery`: the pixels of the check's decode and whether the
    # original can be its own display image, until `make_derivatives`.
    pixels: PILImage.Image | None = None
    display_ready: bool = False
    derivatives: Derivatives | None = None

    def make_derivatives(self) -> None:
        """The gallery's JPEGs, from the check's decode (no second decode)."""
        if self.pixels is None:
            # A type the check could not decode here (HEIC): Pillow says why.
            self.derivatives = derivatives_for(self.body)
            return
        try:
            self.derivatives = derivatives_of(
                self.pixels, include_display=not self.display_ready
            )
        finally:
            self.pixels = None  # dropped, not closed (see decode_image)

    def close(self) -> None:
        self.body.close()
        self.pixels = None


def choose_container(
    client: DataAPIClient,
    layout: str,
    src: SourceRecord,
    *,
    max_bytes: int,
    md5_of: str,
    for_gallery: bool = False,
) -> Chosen:
    """The first container, best quality first, whose bytes are a usable image.

    With `for_gallery`, the check decodes at the scale the gallery's
    derivatives need and keeps the pixels for them (`Chosen.make_derivatives`).
    """
    tried: list[dict[str, Any]] = []
    if not src.containers:
        raise NoUsableImageError(
            "no_container", "every container field is empty", tried
        )
    for name, url in src.containers:
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        try:
            download = _download(client, layout, src, name, url, body, max_bytes)
        except ContainerTooLargeError as exc:
            body.close()
            tried.append({"field": name, "result": "too_large", "detail": str(exc)})
            continue
        except BaseException:
            body.close()
            raise
        if name == md5_of and src.md5 and download.md5 != src.md5:
            body.close()
            tried.append(
                {"field": name, "result": "md5_mismatch", "size": download.size}
            )
            raise ChecksumMismatchError(name, tried)
        ready = for_gallery and display_ready(body)
        long_side = (THUMBNAIL_PX if ready else DISPLAY_PX) if for_gallery else None
        try:
            info, pixels = decode_image(body, long_side=long_side)
        except InvalidImageError as exc:
            body.close()
            tried.append({"field": name, "result": exc.reason, "size": download.size})
            continue
        tried.append({"field": name, "result": "used", "size": download.size})
        return Chosen(
            field=name,
            body=body,
            download=download,
            info=info,
            tried=tried,
            pixels=pixels if for_gallery else None,
            display_ready=ready,
        )
    raise NoUsableImageError(
        "no_valid_image", "no container field holds a readable image", tried
    )


def _download(
    client: DataAPIClient,
    layout: str,
    src: SourceRecord,
    name: str,
    url: str,
    body: BinaryIO,
    max_bytes: int,
) -> ContainerDownload:
    try:
        return client.download_container(url, body, max_bytes=max_bytes)
    except ContainerUnauthorizedError:
        # Streaming URLs expire; read the record again for a fresh one, once.
        fresh = client.get_record(layout, src.record_id).field_data.get(name, "")
        if not fresh:
            raise
        return client.download_container(fresh, body, max_bytes=max_bytes)
