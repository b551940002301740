"""Downloading container data from FileMaker's streaming URLs (no Django imports).

One attempt at one download: FileMaker's cookie handshake (302 +
X-FMS-Session-Key) with a cookie kept for this download alone, the body
streamed into a sink and hashed as it arrives. Retrying is the client's
(`DataAPIClient.download_container`).
"""

from __future__ import annotations

import hashlib
from http.cookies import CookieError
from http.cookies import SimpleCookie
from typing import IO
from urllib.parse import urljoin

import httpx

from filemaker_migration.dataapi._errors import ContainerError
from filemaker_migration.dataapi._errors import ContainerTooLargeError
from filemaker_migration.dataapi._errors import ContainerUnauthorizedError
from filemaker_migration.dataapi._errors import ServerBusyError
from filemaker_migration.dataapi._errors import TransportError
from filemaker_migration.dataapi._limiter import AdaptiveLimiter
from filemaker_migration.dataapi._transport import BUSY_STATUSES
from filemaker_migration.dataapi._transport import retry_after
from filemaker_migration.dataapi._transport import translated_transport_errors
from filemaker_migration.dataapi._types import ContainerDownload

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_STREAM_COOKIE = "X-FMS-Session-Key"


def download_once(
    http: httpx.Client,
    limiter: AdaptiveLimiter,
    url: str,
    sink: IO[bytes],
    max_bytes: int,
) -> ContainerDownload:
    """One attempt: follow the handshake's redirects, stream the body into `sink`."""
    target, cookie = url, None
    with limiter.slot():
        for _hop in range(4):
            headers: dict[str, str] = (
                {"Cookie": f"{_STREAM_COOKIE}={cookie}"} if cookie else {}
            )
            with (
                translated_transport_errors(target),
                http.stream("GET", target, headers=headers) as resp,
            ):
                if resp.status_code in _REDIRECTS:
                    # Read the (tiny) body so the connection goes back to
                    # the pool instead of being closed.
                    resp.read()
                    cookie = _stream_cookie(resp) or cookie
                    location = resp.headers.get("location") or target
                    target = urljoin(target, location)
                    continue
                if resp.status_code == 200:
                    download = _stream_body(resp, sink, max_bytes)
                    limiter.on_success()
                    return download
                _raise_for_container_status(resp, limiter)
    raise ContainerError("container URL redirected too many times")


def _raise_for_container_status(resp: httpx.Response, limiter: AdaptiveLimiter) -> None:
    status = resp.status_code
    if status in BUSY_STATUSES or status >= 500:
        limiter.on_overload()
        raise ServerBusyError(
            f"container download answered HTTP {status}",
            http_status=status,
            retry_after=retry_after(resp),
        )
    if status in (401, 403, 404):
        raise ContainerUnauthorizedError(
            f"container URL refused with HTTP {status} (expired?)",
            http_status=status,
        )
    raise ContainerError(
        f"container download answered HTTP {status}", http_status=status
    )


def _stream_cookie(resp: httpx.Response) -> str | None:
    for header in resp.headers.get_list("set-cookie"):
        try:
            jar = SimpleCookie(header)
        except CookieError:
            continue
        if _STREAM_COOKIE in jar:
            return jar[_STREAM_COOKIE].value
    return None


def _stream_body(
    resp: httpx.Response, sink: IO[bytes], max_bytes: int
) -> ContainerDownload:
    declared = resp.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ContainerTooLargeError(
            f"container is {declared} bytes, over the {max_bytes}-byte limit"
        )
    sha256, md5, size = hashlib.sha256(), hashlib.md5(), 0
    for chunk in resp.iter_bytes(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise ContainerTooLargeError(
                f"container is over the {max_bytes}-byte limit"
            )
        sha256.update(chunk)
        md5.update(chunk)
        sink.write(chunk)
    if declared is not None and declared.isdigit() and int(declared) != size:
        raise TransportError(f"container stream ended after {size} of {declared} bytes")
    content_type = resp.headers.get("content-type", "").split(";")[0].strip()
    return ContainerDownload(
        size=size,
        sha256=sha256.hexdigest(),
        md5=md5.hexdigest(),
        content_type=content_type,
    )
