"""Downloading container data from FileMaker's streaming URLs (no Django imports).

One attempt at one download: FileMaker's cookie handshake (302 +
X-FMS-Session-Key) with a cookie kept for this download alone, the body
streamed into a sink and hashed as it arrives. Retrying, and reading a record
again for a fresh URL, are the client's (`DataAPIClient.download_container`,
`download_field`).

What a real server may answer, and what becomes of it here:

- 302 with the cookie, then 200 with the bytes: the handshake.
- 200 straight away (`AuthenticatedStream=2`): the bytes.
- A redirect *without* the cookie: the URL is stale (fmrest-ruby,
  `container_fields.rb`) -> `ContainerStaleURLError`, read the record again.
- 401/403/404: expired or refused -> `ContainerUnauthorizedError`, likewise.
- Servers since 19.3.1 may require the Data API token on the streaming URL
  (`authenticatedStream`); soliant's client and fmdata send it, python-fmrest
  and fmrest-ruby do not. The token goes on the first request only, and only
  when that request is to the Data API's own host: never to another host,
  never after a redirect.
- A 200 with a web page (a proxy's error or login page) where the file should
  be -> `ContainerNotDataError`, transient: retried, never taken for a file.
- FileMaker's JSON error body (953, the transfer limit) -> its FileMaker error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextlib import ExitStack
from dataclasses import dataclass
from http.cookies import CookieError
from http.cookies import SimpleCookie
from typing import IO
from typing import TypeVar
from urllib.parse import urljoin

import httpx

from filemaker_migration.dataapi._errors import ContainerError
from filemaker_migration.dataapi._errors import ContainerNotDataError
from filemaker_migration.dataapi._errors import ContainerStaleURLError
from filemaker_migration.dataapi._errors import ContainerTooLargeError
from filemaker_migration.dataapi._errors import ContainerUnauthorizedError
from filemaker_migration.dataapi._errors import FileMakerError
from filemaker_migration.dataapi._errors import InvalidTokenError
from filemaker_migration.dataapi._errors import ServerBusyError
from filemaker_migration.dataapi._errors import TransferLimitError
from filemaker_migration.dataapi._errors import TransportError
from filemaker_migration.dataapi._errors import filemaker_error
from filemaker_migration.dataapi._limiter import AdaptiveLimiter
from filemaker_migration.dataapi._transport import BUSY_STATUSES
from filemaker_migration.dataapi._transport import retry_after
from filemaker_migration.dataapi._transport import translated_transport_errors
from filemaker_migration.dataapi._types import ContainerDownload
from filemaker_migration.dataapi._types import Observations
from filemaker_migration.dataapi._types import TransferCounter

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_STREAM_COOKIE = "X-FMS-Session-Key"
_MAX_HOPS = 4
# Content types no container download can be: a page, not a file.
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/json"})
_PAGE_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Streaming:
    """What one download needs from its client besides the HTTP connection."""

    limiter: AdaptiveLimiter
    transfer: TransferCounter
    observed: Observations
    origin: str
    """The Data API's scheme://host[:port]: the only host the token goes to."""
    token_slot: Callable[[], AbstractContextManager[str]]
    """A session with room for one request, as its token (see `_sessions`)."""


def origin_of(url: str) -> str:
    parsed = httpx.URL(url)
    port = parsed.port or {"https": 443, "http": 80}.get(parsed.scheme, 0)
    return f"{parsed.scheme}://{parsed.host.lower()}:{port}"


def download_once(
    http: httpx.Client, ctx: Streaming, url: str, sink: IO[bytes], max_bytes: int
) -> ContainerDownload:
    """One attempt: the handshake's hops, then the body streamed into `sink`."""
    return _fetch(http, ctx, url, lambda resp: _stream_body(resp, sink, max_bytes, ctx))


def measure_once(http: httpx.Client, ctx: Streaming, url: str) -> int:
    """One attempt at a container's size: its Content-Length, without reading
    the body (the body is read, and counted, only when there is none)."""

    def size(resp: httpx.Response) -> int:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit():
            return int(declared)
        total = 0
        for chunk in resp.iter_bytes(64 * 1024):
            total += len(chunk)
            ctx.transfer.add_container(len(chunk))
        return total

    return _fetch(http, ctx, url, size)


def _fetch(
    http: httpx.Client,
    ctx: Streaming,
    url: str,
    consume: Callable[[httpx.Response], _T],
) -> _T:
    """Follow the handshake's hops to the 200, and `consume` its answer."""
    target, cookie = url, None
    for hop in range(_MAX_HOPS):
        send_token = hop == 0 and origin_of(target) == ctx.origin
        with ExitStack() as held:
            resp = _open(http, ctx, held, target, cookie, send_token=send_token)
            held.callback(resp.close)
            held.enter_context(translated_transport_errors(target))
            if resp.status_code in _REDIRECTS:
                # Read the (tiny) body so the connection goes back to the pool.
                ctx.transfer.add_container(len(resp.read()))
                given = _stream_cookie(resp)
                if given is None and cookie is None:
                    ctx.observed.note(Observations.STALE_URL)
                    raise ContainerStaleURLError(
                        f"container URL redirected (HTTP {resp.status_code}) "
                        "without a session cookie: the URL is stale",
                        http_status=resp.status_code,
                    )
                cookie = given or cookie
                target = urljoin(target, resp.headers.get("location") or target)
                continue
            if resp.status_code == 200:
                if hop == 0:
                    ctx.observed.note(Observations.DIRECT_200)
                _refuse_pages(resp, ctx)
                result = consume(resp)
                ctx.limiter.on_success()
                return result
            _raise_for_container_status(resp, ctx)
    ctx.observed.note(Observations.STALE_URL)
    raise ContainerStaleURLError(
        f"container URL redirected {_MAX_HOPS} times without serving the file"
    )


def _open(
    http: httpx.Client,
    ctx: Streaming,
    held: ExitStack,
    target: str,
    cookie: str | None,
    *,
    send_token: bool,
) -> httpx.Response:
    """Send one GET; return the answer with its body unread.

    A session's slot (when the token goes along) is held only until the
    headers are in, and is taken before the limiter's, as every Data API call
    takes them (so the two never wait on each other in a circle). The
    limiter's slot stays `held` until this hop's body is read.
    """
    headers: dict[str, str] = {}
    if cookie:
        headers["Cookie"] = f"{_STREAM_COOKIE}={cookie}"
    with ExitStack() as session:
        if send_token:
            token = session.enter_context(ctx.token_slot())
            headers["Authorization"] = f"Bearer {token}"
            ctx.observed.note(Observations.TOKEN_SENT)
        held.enter_context(ctx.limiter.slot())
        with translated_transport_errors(target):
            request = http.build_request("GET", target, headers=headers)
            return http.send(request, stream=True, follow_redirects=False)


def _raise_for_container_status(resp: httpx.Response, ctx: Streaming) -> None:
    status = resp.status_code
    body = resp.read()
    ctx.transfer.add_container(len(body))
    fm_error = _filemaker_error(body, status)
    if isinstance(fm_error, TransferLimitError):
        ctx.observed.note(Observations.TRANSFER_LIMIT)
        raise fm_error
    if isinstance(fm_error, InvalidTokenError) or status in (401, 403, 404):
        ctx.observed.note(Observations.URL_REFUSED)
        raise ContainerUnauthorizedError(
            f"container URL refused with HTTP {status} (expired?)",
            http_status=status,
        )
    if status in BUSY_STATUSES or status >= 500:
        ctx.limiter.on_overload()
        raise ServerBusyError(
            f"container download answered HTTP {status}",
            http_status=status,
            retry_after=retry_after(resp),
        )
    raise ContainerError(
        f"container download answered HTTP {status}", http_status=status
    )


def _filemaker_error(body: bytes, status: int) -> FileMakerError | None:
    """FileMaker's own error, when the streaming answer is its JSON envelope."""
    try:
        message = json.loads(body)["messages"][0]
        code = int(message["code"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return filemaker_error(code, str(message.get("message", "")), status)


def _stream_cookie(resp: httpx.Response) -> str | None:
    for header in resp.headers.get_list("set-cookie"):
        try:
            jar = SimpleCookie(header)
        except CookieError:
            continue
        if _STREAM_COOKIE in jar:
            return jar[_STREAM_COOKIE].value
    return None


def _not_data(ctx: Streaming, why: str) -> ContainerNotDataError:
    ctx.observed.note(Observations.NOT_DATA)
    return ContainerNotDataError(
        f"the container URL answered 200 with {why}, not the file", http_status=200
    )


def _content_type(resp: httpx.Response) -> str:
    header: str = resp.headers.get("content-type", "")
    return header.split(";")[0].strip().lower()


def _refuse_pages(resp: httpx.Response, ctx: Streaming) -> None:
    """A 200 labelled as a page is no container's bytes."""
    content_type = _content_type(resp)
    if content_type in _PAGE_TYPES:
        ctx.transfer.add_container(len(resp.read()))
        raise _not_data(ctx, f"a {content_type} page")


def _stream_body(
    resp: httpx.Response, sink: IO[bytes], max_bytes: int, ctx: Streaming
) -> ContainerDownload:
    content_type = _content_type(resp)
    declared = resp.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ContainerTooLargeError(
            f"container is {declared} bytes, over the {max_bytes}-byte limit"
        )
    sha256, md5, size, head = hashlib.sha256(), hashlib.md5(), 0, b""
    for chunk in resp.iter_bytes(64 * 1024):
        size += len(chunk)
        ctx.transfer.add_container(len(chunk))
        if size > max_bytes:
            raise ContainerTooLargeError(
                f"container is over the {max_bytes}-byte limit"
            )
        if len(head) < 512:
            head += chunk[: 512 - len(head)]
        sha256.update(chunk)
        md5.update(chunk)
        sink.write(chunk)
    if declared is not None and declared.isdigit() and int(declared) != size:
        raise TransportError(f"container stream ended after {size} of {declared} bytes")
    if head.lstrip().lower().startswith(_PAGE_STARTS):
        raise _not_data(ctx, "an HTML page labelled " + (content_type or "untyped"))
    return ContainerDownload(
        size=size,
        sha256=sha256.hexdigest(),
        md5=md5.hexdigest(),
        content_type=content_type,
    )


def first_hop(http: httpx.Client, ctx: Streaming, url: str, *, token: bool) -> bool:
    """Whether a download's first request, with or without the token, is let
    through (200, or a redirect with the session cookie); the body unread."""
    with ExitStack() as held:
        resp = _open(http, ctx, held, url, None, send_token=token)
        resp.close()
        if resp.status_code in _REDIRECTS:
            return _stream_cookie(resp) is not None
        return resp.status_code == 200
