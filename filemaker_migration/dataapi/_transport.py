"""The HTTP layer under the Data API client (no Django imports).

Each worker thread gets a keep-alive connection of its own (`ThreadClients`),
and httpx's transport exceptions become ours at this boundary
(`translated_transport_errors`). Shared by the API calls (`_client`) and the
container downloads (`_containers`).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from http.cookiejar import DefaultCookiePolicy

import httpx

from filemaker_migration.dataapi._errors import TLSVerificationError
from filemaker_migration.dataapi._errors import TransportError

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
    """Translate httpx's transport exceptions into ours, at the boundary."""
    try:
        yield
    except httpx.TransportError as exc:
        if _is_certificate_failure(exc):
            raise TLSVerificationError(
                f"the certificate of {_origin(where)} is not trusted; if the server "
                "uses a private CA, set FM_CA_BUNDLE to its CA bundle file"
            ) from exc
        raise TransportError(
            f"{type(exc).__name__} talking to {_origin(where)}"
        ) from exc


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
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
