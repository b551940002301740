"""Rendering answers: the Data API JSON envelope, and a web server's pages.

    {"response": {...}, "messages": [{"code": "0", "message": "OK"}]}

Codes are strings; ``response`` is ``{}`` on errors.
"""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

from werkzeug.wrappers import Response

from filemaker_migration.dataset import LayoutSpec
from filemaker_migration.emulator.backend import Page
from filemaker_migration.emulator.errors import FileMakerError

_NGINX_PAGE = (
    "<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n"
    "<center><h1>{status}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class DroppedConnection(ConnectionAbortedError):
    """Raised by the app to drop a connection without answering.

    The app shuts the socket down first; the HTTPS server (server.py) then
    closes the connection without writing anything. In-process (httpx
    WSGITransport) this exception reaches the caller instead.
    """


def envelope(
    response: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"response": response, "messages": [{"code": "0", "message": "OK"}]}
    return Response(
        json.dumps(body), status=status, headers=headers, mimetype="application/json"
    )


def error_response(error: FileMakerError) -> Response:
    body = {
        "messages": [{"code": str(error.code), "message": error.message}],
        "response": {},
    }
    return Response(
        json.dumps(body), status=error.http_status, mimetype="application/json"
    )


def data_info(database: str, spec: LayoutSpec, page: Page) -> dict[str, Any]:
    return {
        "database": database,
        "layout": spec.name,
        "table": spec.table,
        "totalRecordCount": page.total,
        "foundCount": page.found,
        "returnedCount": len(page.records),
    }


def bad_gateway() -> Response:
    """What the web server in front of a stopped Data API engine answers."""
    return Response(
        _NGINX_PAGE.format(status="502 Bad Gateway"), status=502, mimetype="text/html"
    )


def service_unavailable(retry_after: int) -> Response:
    return Response(
        _NGINX_PAGE.format(status="503 Service Temporarily Unavailable"),
        status=503,
        mimetype="text/html",
        headers={"Retry-After": str(retry_after)},
    )


def unauthorized_stream() -> Response:
    """The streaming service's 401: no JSON, no body."""
    return Response(b"", status=401, mimetype="text/html")


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's socket without a response, then unwind the app."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise DroppedConnection("emulator fault: connection dropped")
