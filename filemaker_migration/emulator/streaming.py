"""The streaming service: container URLs (``/Streaming_SSL/...``).

The cookie handshake: a first request without the cookie answers 302 with a
per-object ``X-FMS-Session-Key`` cookie, the request with the cookie answers
200 with the bytes. The cookie's Path is /Streaming_SSL (not the object's
path), so one shared cookie jar holds one key at a time, as on a real server.

Knobs (``FaultConfig``): a stale, expired or unknown URL answers 401, or with
``stale_url_redirect`` a 302 *without* the cookie (fmrest-ruby's "stale URL");
``stream_requires_token`` wants a live Data API token on the first request
(authenticatedStream); ``html_200_every_nth`` answers some body requests with
a proxy's HTML page.
"""

from __future__ import annotations

import hmac

from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from filemaker_migration.emulator import responses
from filemaker_migration.emulator.backend import Backend
from filemaker_migration.emulator.containers import COOKIE_NAME
from filemaker_migration.emulator.containers import STREAMING_PREFIX
from filemaker_migration.emulator.containers import Pacer
from filemaker_migration.emulator.containers import chunk_size
from filemaker_migration.emulator.containers import content_type
from filemaker_migration.emulator.containers import stream_file
from filemaker_migration.emulator.errors import FileMakerError

_PROXY_PAGE = (
    b"<!DOCTYPE html>\r\n<html><head><title>Sign in</title></head>\r\n"
    b"<body><h1>Your session has ended</h1><p>Please sign in again.</p>"
    b"</body></html>\r\n"
)


def _location(request: Request) -> str:
    # UNCONFIRMED: the real Location may differ; clients resolve it against
    # the original URL or repeat the original URL.
    return request.url if "Redirect" in request.args else request.url + "&Redirect"


def _refused(backend: Backend, request: Request) -> Response:
    """A stale, expired or unknown URL: 401, or a redirect without a cookie."""
    backend.seen.bump("stale_answers")
    if backend.faults.stale_url_redirect:
        return Response(b"", status=302, headers={"Location": _location(request)})
    return responses.unauthorized_stream()


def _token_refused(backend: Backend, request: Request) -> bool:
    """Whether a first request lacks the live token the server requires."""
    authorization = request.headers.get("Authorization")
    if authorization:
        backend.seen.bump("stream_token_requests")
    if not backend.faults.stream_requires_token:
        return False
    try:
        backend.authenticate(None, authorization)
    except FileMakerError:
        return True
    return False


def stream_container(
    backend: Backend, request: Request, folder: str, name: str
) -> Response:
    obj = backend.containers.lookup(name)
    if obj is None or not obj.path.is_file():
        return _refused(backend, request)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie is None:
        if _token_refused(backend, request):
            return responses.unauthorized_stream()
        redirect = Response(b"", status=302, headers={"Location": _location(request)})
        redirect.set_cookie(
            COOKIE_NAME, obj.cookie, path=STREAMING_PREFIX, httponly=True
        )
        return redirect
    if not hmac.compare_digest(cookie.encode(), obj.cookie.encode()):
        return responses.unauthorized_stream()
    faults = backend.faults
    served = backend.seen.bump("stream_bodies")
    nth = faults.html_200_every_nth
    if nth and served % nth == 0:
        # A proxy's page: labelled as HTML, or (every other time) as the file.
        backend.seen.bump("html_pages")
        labelled = (served // nth) % 2 == 0
        kind = content_type(obj.extension) if labelled else "text/html"
        return Response(_PROXY_PAGE, status=200, content_type=kind)
    if faults.container_ttfb_ms > 0:
        backend.sleep(faults.container_ttfb_ms / 1000)
    size = obj.path.stat().st_size
    per_stream = Pacer(
        lambda: faults.stream_bytes_per_sec, backend.clock, backend.sleep
    )
    body = stream_file(
        obj.path,
        per_stream,
        backend.total_pacer,
        chunk_size(faults.stream_bytes_per_sec, faults.total_bytes_per_sec),
    )
    return Response(
        body,
        status=200,
        headers={"Content-Length": str(size)},
        content_type=content_type(obj.extension),
        direct_passthrough=True,
    )
