"""The emulator over HTTPS: werkzeug's threaded server, one thread per connection.

werkzeug's server answers ``Connection: close`` on every response (no
keep-alive), so each request is its own TLS connection; handshakes happen
in the worker thread, never in the accepting one, so a stalled client cannot
hold up the others.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.serving import ThreadedWSGIServer
from werkzeug.serving import WSGIRequestHandler

from clinic.filemaker.dataset import Dataset
from clinic.filemaker.emulator.app import EmulatorApp
from clinic.filemaker.emulator.app import make_app
from clinic.filemaker.emulator.config import EmulatorConfig
from clinic.filemaker.emulator.tls import ensure_tls

logger = logging.getLogger(__name__)

_SOCKET_TIMEOUT = 60.0


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to our logger at DEBUG instead of stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, self.path, code)

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("connection error: %s", format % args)


class _TLSServer(ThreadedWSGIServer):
    # >= 64 clients may connect at once; the default backlog is smaller.
    request_queue_size = 256

    def __init__(
        self, host: str, port: int, app: EmulatorApp, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, app, handler=_QuietHandler)
        # Set after the plain bind: werkzeug would wrap the listening socket,
        # which handshakes inside accept(). werkzeug reads it for url_scheme.
        self.ssl_context = context

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        sock.settimeout(_SOCKET_TIMEOUT)
        assert self.ssl_context is not None
        wrapped = self.ssl_context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            logger.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("error serving %s", client_address, exc_info=True)


class EmulatorServer:
    """The emulator on a real HTTPS socket; ``port=0`` picks a free port.

    Use ``start()``/``stop()`` (or ``with``) for a background thread, or
    ``serve_forever()`` to block.
    """

    def __init__(
        self,
        app: EmulatorApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_dir: Path | None = None,
    ) -> None:
        self.app = app
        self.host = host
        files = ensure_tls(tls_dir or app.backend.dataset.root / "tls", (host,))
        self.ca_bundle: Path = files.ca_bundle
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(files.cert, files.key)
        self._server = _TLSServer(host, port, app, context)
        self.port: int = self._server.server_port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL for clients: ``https://127.0.0.1:PORT`` (no trailing slash)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(
            self.host, self.host
        )
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only the emulator's CA."""
        return ssl.create_default_context(cafile=os.fspath(self.ca_bundle))

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self.serve_forever, name="filemaker-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close the socket; in-flight daemon threads end
        with their connection."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(
    dataset: Dataset | str | os.PathLike[str],
    config: EmulatorConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[EmulatorServer], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (the command sets it on SIGTERM/SIGINT)."""
    stop = stop or threading.Event()
    app = make_app(dataset, config)
    try:
        server = EmulatorServer(app, host=host, port=port).start()
        try:
            if ready is not None:
                ready(server)
            # Wake up regularly: a signal handler only sets the event.
            while not stop.wait(0.2):
                pass
        finally:
            server.stop()
    finally:
        app.close()
