"""The HTTP layer under the Data API client (no Django imports).

Each worker thread gets a keep-alive connection of its own (`ThreadClients`),
and httpx's transport exceptions become ours at this boundary
(`translated_transport_errors`). Shared by the API calls (`_client`) and the
container downloads (`_containers`).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from http.cookiejar import DefaultCookiePolicy

import httpx

from filemaker_migration.dataapi._errors import TLSVerificationError
from filemaker_migration.dataapi._errors import TransportError
from filemaker_migration.dataapi._errors import UnreachableError

BUSY_STATUSES = frozenset({429, 502, 503, 504})


class ThreadClients:
    """One httpx client per thread, all sharing one TLS context and timeout."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        transport: httpx.BaseTransport | None,
        timeout: httpx.Timeout,
    ) -> None:
        self._ssl_context = ssl_context
        self._transport = transport
        self._timeout = timeout
        self._thread_http = threading.local()
        self._clients: list[tuple[threading.Thread, httpx.Client]] = []
        self._clients_lock = threading.Lock()

    def current(self) -> httpx.Client:
        """This thread's HTTP client: one keep-alive connection of its own.

        A worker makes one request at a time, so it needs one connection, and
        keeping it to itself keeps the workers out of each other's way: behind
        one shared httpx pool, every request and every response's end takes
        the pool's lock and walks all its connections, and with 32 workers
        that lock was where they spent a third of their time.
        """
        client: httpx.Client | None = getattr(self._thread_http, "client", None)
        if client is None or client.is_closed:
            client = self._new_http()
            with self._clients_lock:
                # Clients of threads that have ended close with them. Each
                # thread is asked once: one that ends between two questions
                # would be dropped without being closed (its socket leaked).
                alive: list[tuple[threading.Thread, httpx.Client]] = []
                for thread, old in self._clients:
                    if thread.is_alive():
                        alive.append((thread, old))
                    else:
                        old.close()
                alive.append((threading.current_thread(), client))
                self._clients = alive
            self._thread_http.client = client
        return client

    def close_all(self) -> None:
        """Close every thread's connection."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for _thread, client in clients:
            client.close()

    def _new_http(self) -> httpx.Client:
        # Streaming cookies are handled per download (see _containers); a
        # shared jar would let one download's cookie overwrite another's
        # (fuzzzerd/fmdata#287), so the client's own jar accepts nothing.
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        return httpx.Client(
            verify=self._ssl_context,
            transport=self._transport,
            cookies=no_cookies,
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
            headers={"User-Agent": "clinic-image-migration"},
        )


@contextmanager
def translated_transport_errors(where: str) -> Iterator[None]:
    """Translate httpx's transport exceptions into ours, at the boundary:
    each names the server, what went wrong and what to check."""
    try:
        yield
    except httpx.TransportError as exc:
        origin = _origin(where)
        if _is_certificate_failure(exc):
            raise TLSVerificationError(
                f"the certificate of {origin} is not trusted; if the server "
                "uses a private CA, set FM_CA_BUNDLE to its CA bundle file"
            ) from exc
        raise _transport_error(exc, origin) from exc


def _transport_error(exc: httpx.TransportError, origin: str) -> TransportError:
    if isinstance(exc, httpx.ConnectTimeout):
        return UnreachableError(
            f"{origin} did not answer within FM_CONNECT_TIMEOUT (connect timed "
            "out): check FM_URL's host and port, and that no firewall drops "
            "this machine's connections to it"
        )
    if _caused_by(exc, ConnectionRefusedError):
        return UnreachableError(
            f"nothing accepts connections at {origin} (connection refused): "
            "check FM_URL's port, and that FileMaker Server is running"
        )
    if _caused_by(exc, socket.gaierror):
        return UnreachableError(
            f"the host name of {origin} is not known (DNS lookup failed): "
            "check FM_URL's host name"
        )
    if isinstance(exc, httpx.ReadTimeout):
        return TransportError(
            f"{origin} sent nothing for FM_READ_TIMEOUT seconds (read timed out)"
        )
    if isinstance(exc, httpx.ConnectError) and _caused_by(exc, ssl.SSLError):
        return TransportError(
            f"TLS with {origin} failed ({_ssl_reason(exc)}): is FM_URL's port the "
            "server's HTTPS port?"
        )
    return TransportError(f"{type(exc).__name__} talking to {origin}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(link, kind) for link in _chain(exc))


def _ssl_reason(exc: BaseException) -> str:
    """OpenSSL's short reason, e.g. WRONG_VERSION_NUMBER for plain HTTP."""
    for link in _chain(exc):
        if isinstance(link, ssl.SSLError):
            return str(link.reason or type(link).__name__)
    return type(exc).__name__


def retry_after(resp: httpx.Response) -> float | None:
    """The Retry-After header in seconds, or None when absent or not a number."""
    value = resp.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _is_certificate_failure(exc: BaseException) -> bool:
    return any(
        isinstance(link, ssl.SSLCertVerificationError)
        or "CERTIFICATE_VERIFY_FAILED" in str(link)
        for link in _chain(exc)
    )
