"""The container waterfall: the best-quality field whose bytes are a real image.

A field is passed over only for what its bytes are (empty, not an image,
truncated, too large), and every pass-over is recorded. A transient download
error is raised, never a reason to fall back: a smaller picture must not
replace a full-size one because the network hiccupped.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import BinaryIO

from filemaker_migration import decode_budget
from filemaker_migration.dataapi import ContainerDownload
from filemaker_migration.dataapi import ContainerTooLargeError
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import is_streamable
from filemaker_migration.dataapi import reference_kind
from filemaker_migration.decode_budget import OVER_BUDGET
from filemaker_migration.derivatives import DISPLAY_PX
from filemaker_migration.derivatives import THUMBNAIL_PX
from filemaker_migration.derivatives import Derivatives
from filemaker_migration.derivatives import derivatives_for
from filemaker_migration.derivatives import derivatives_of
from filemaker_migration.derivatives import display_ready
from filemaker_migration.imagecheck import ImageInfo
from filemaker_migration.imagecheck import InvalidImageError
from filemaker_migration.imagecheck import decode_image
from filemaker_migration.pipeline.cpu import part
from filemaker_migration.source import SourceRecord

# Bytes kept in memory per download before spilling to a temporary file.
SPOOL_BYTES = 4 * 1024 * 1024
# A container holding a file path instead of data (a skip, final).
STORED_BY_REFERENCE = "stored_by_reference"


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
    # The gallery's JPEGs, when chosen `for_gallery`.
    derivatives: Derivatives | None = None

    def close(self) -> None:
        self.body.close()


def check_body(
    body: BinaryIO, *, for_gallery: bool
) -> tuple[ImageInfo, Derivatives | None]:
    """Check that `body` is a usable image; for the gallery, make its JPEGs too.

    For the gallery the check decodes at the scale the JPEGs need and they are
    made from those pixels: one decode serves both. The pixels are reserved
    from the process's decode budget until they are dropped; a picture that
    alone costs more is passed over (`over_decode_budget`, decode_budget.py).
    """
    ready = for_gallery and display_ready(body)
    box = (THUMBNAIL_PX if ready else DISPLAY_PX) if for_gallery else None
    made = None
    with ExitStack() as held:
        admit = decode_budget.shared().admitter(held, box=box)
        info, pixels = decode_image(body, long_side=box, admit=admit)
        if for_gallery and pixels is not None:
            with part("gallery"):
                made = derivatives_of(pixels, include_display=not ready)
        # Dropped, not closed (see decode_image), before the budget is given back.
        del pixels
    if for_gallery and made is None:
        # A type the check cannot decode here (HEIC): Pillow says why.
        with part("gallery"):
            made = derivatives_for(body)
    return info, made


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

    With `for_gallery`, the gallery's JPEGs are made from the check's decode
    (`check_body`).
    """
    tried: list[dict[str, Any]] = []
    if not src.containers:
        raise NoUsableImageError(
            "no_container", "every container field is empty", tried
        )
    for name, url in src.containers:
        if not is_streamable(url):
            # Stored by reference: FileMaker holds a path, not the picture.
            # Final, and never a smaller size in its place.
            tried.append({"field": name, "result": STORED_BY_REFERENCE})
            raise NoUsableImageError(
                STORED_BY_REFERENCE,
                f"{name} is stored by reference ({reference_kind(url)}): FileMaker "
                "holds a path to a file, not the picture; embed it in FileMaker "
                "and run again",
                tried,
            )
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
        try:
            with part("check"):
                info, derivatives = check_body(body, for_gallery=for_gallery)
        except InvalidImageError as exc:
            body.close()
            tried.append({"field": name, "result": exc.reason, "size": download.size})
            if exc.reason == OVER_BUDGET:
                tried[-1]["detail"] = exc.detail  # names its size
            continue
        except BaseException:
            body.close()
            raise
        tried.append({"field": name, "result": "used", "size": download.size})
        return Chosen(
            field=name,
            body=body,
            download=download,
            info=info,
            tried=tried,
            derivatives=derivatives,
        )
    over_budget = [t["detail"] for t in tried if t["result"] == OVER_BUDGET]
    if over_budget:
        # Readable, perhaps, with a larger budget: say so, not "no image".
        raise NoUsableImageError(OVER_BUDGET, over_budget[0], tried)
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
    # A stale or refused URL: the record is read again for a fresh one.
    with part("download"):
        return client.download_field(
            layout, src.record_id, name, url, body, max_bytes=max_bytes
        )
