"""The emulator over HTTPS: cheroot (CherryPy's WSGI server) with keep-alive.

HTTP/1.1 persistent connections over TLS, as a FileMaker Server behind its
web server offers them: a client reuses one connection for its Data API
calls and for both legs (302, 200) of a container download.

- One selector thread accepts connections and watches idle keep-alive
  connections; a pool of worker threads serves requests. An idle connection
  holds no thread, a request (e.g. a paced container stream) holds one, so
  ``_THREADS`` bounds the requests in flight, not the connections.
- TLS handshakes run in the worker, on a connection's first use, never in the
  accepting thread: a client that connects and stalls holds up nobody.
- Each request's body is read to its end before the next request on the
  connection; a response without a length is sent chunked; ``Connection:
  close`` from the client is honoured; idle connections are closed after
  ``IDLE_TIMEOUT`` seconds.
- The dropped-connection fault (``responses.drop_connection``) shuts the
  socket down through ``environ["werkzeug.socket"]``; the server then closes
  the connection without writing an answer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cheroot import errors as cheroot_errors
from cheroot import wsgi
from cheroot.makefile import MakeFile
from cheroot.server import HTTPConnection
from cheroot.ssl.builtin import BuiltinSSLAdapter
from cheroot.workers.threadpool import ThreadPool
from cheroot.workers.threadpool import WorkerThread

from filemaker_migration.dataset import Dataset
from filemaker_migration.emulator.app import EmulatorApp
from filemaker_migration.emulator.app import make_app
from filemaker_migration.emulator.config import EmulatorConfig
from filemaker_migration.emulator.responses import DroppedConnection
from filemaker_migration.emulator.tls import ensure_tls

logger = logging.getLogger(__name__)

# Seconds without progress on a socket (handshake, reading a request,
# writing a response) before the connection is given up.
_SOCKET_TIMEOUT = 60.0
# Seconds an idle keep-alive connection is kept open (above httpx's 5 s
# keep-alive expiry, so clients normally close first).
IDLE_TIMEOUT = 15.0
# Worker threads: requests served at once (>= 64 slow streams, plus room).
_THREADS = 128
# Idle keep-alive connections kept at once (cheroot's default is 10).
_KEEPALIVE_LIMIT = 1024
# Seconds stop() waits for in-flight requests before cutting their sockets.
_SHUTDOWN_TIMEOUT = 2.0


class _TLSAdapter(BuiltinSSLAdapter):
    """Wraps accepted sockets without a handshake (done later, in a worker)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        # Skip BuiltinSSLAdapter.__init__: it builds its own context from
        # files; ours is ready. (The base only stores attributes.)
        self.certificate = self.private_key = self.certificate_chain = None
        self.ciphers = self.private_key_password = None
        self.context = context
        self._server_env: dict[str, str] = {}
        self.accepted = 0

    def wrap(self, sock: socket.socket) -> tuple[ssl.SSLSocket, dict[str, str]]:
        # Runs in the accepting thread: no I/O here.
        self.accepted += 1
        try:
            wrapped = self.context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        except OSError as exc:  # peer already gone
            raise cheroot_errors.FatalSSLAlert(*exc.args) from exc
        return wrapped, {"HTTPS": "on", "wsgi.url_scheme": "https"}


class _Connection(HTTPConnection):
    """Handshakes on first use, in the worker thread."""

    _handshaken = False

    def __init__(self, server: Any, sock: Any, makefile: Any = MakeFile) -> None:
        super().__init__(server, sock, makefile)
        # cheroot sets server.timeout (our idle timeout) on the socket.
        sock.settimeout(_SOCKET_TIMEOUT)

    def communicate(self) -> bool:
        if not self._handshaken:
            try:
                self.socket.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                logger.debug("TLS handshake with %s failed: %s", self.remote_addr, exc)
                return False
            self._handshaken = True
        # Untyped in cheroot's stub (untyped_calls_exclude misses super() calls).
        served: bool = super().communicate()  # type: ignore[no-untyped-call]
        return served

    def close(self) -> None:
        # Send what the response writer still holds before the socket goes:
        # cheroot closes the socket only, and the writer then flushes at
        # garbage collection into a closed descriptor. Python 3.13 reports
        # that as an unraisable OSError (cheroot issue #734); earlier
        # versions dropped the bytes silently. A client gone already is
        # routine here (a killed import): nothing more to send it.
        with contextlib.suppress(OSError):
            self.wfile.close()
        super().close()


def _reading_bodies_to_the_end(app: EmulatorApp) -> Callable[..., Any]:
    """The app reads what it wants of a request body; the rest is read here,
    so it is never taken for the next request (chunked bodies too)."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        result = app(environ, start_response)
        body = environ["wsgi.input"]
        while body.read(64 * 1024):
            pass
        return result

    return wrapped


class _Gateway(wsgi.Gateway_10):
    """WSGI 1.0, plus the socket for the drop fault; a dropped connection is
    closed without a word (cheroot would log it and try to answer 500)."""

    # cheroot's stub types the base Gateway.get_environ as returning None and
    # leaves Gateway_10's (called here) untyped; both return the WSGI environ.
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        env: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        env["werkzeug.socket"] = self.req.conn.socket
        return env

    def respond(self) -> None:
        try:
            super().respond()
        except DroppedConnection:
            # The socket is shut down already: write nothing, then close.
            self.req.close_connection = True
            self.req.sent_headers = True


class _Pool(ThreadPool):
    """Daemon workers (a forgotten server never blocks interpreter exit);
    sockets still busy at stop() are shut down both ways, so a paced stream
    ends at its next write instead of running to its end."""

    def _spawn_worker(self) -> WorkerThread:
        worker = WorkerThread(self.server)
        worker.name = f"filemaker-emulator-{worker.name}"
        worker.daemon = True
        worker.start()
        return worker

    @staticmethod
    def _force_close(conn: Any) -> None:
        if conn is None or conn.rfile.closed:
            return
        with contextlib.suppress(OSError):
            conn.socket.shutdown(socket.SHUT_RDWR)


class _Server(wsgi.Server):
    ConnectionClass = _Connection
    keep_alive_conn_limit = _KEEPALIVE_LIMIT
    ssl_adapter: _TLSAdapter

    def __init__(
        self, host: str, port: int, app: EmulatorApp, context: ssl.SSLContext
    ) -> None:
        super().__init__(
            (host, port),
            _reading_bodies_to_the_end(app),
            numthreads=_THREADS,
            max=_THREADS,
            server_name=host,
            # >= 64 clients may connect at once; the default backlog is 5.
            request_queue_size=256,
            # cheroot's stub says int; both are socket timeouts, seconds as floats.
            timeout=IDLE_TIMEOUT,  # type: ignore[arg-type]
            shutdown_timeout=_SHUTDOWN_TIMEOUT,  # type: ignore[arg-type]
        )
        self.gateway = _Gateway
        self.requests = _Pool(self, min=_THREADS, max=_THREADS)
        self.ssl_adapter = _TLSAdapter(context)

    def error_log(
        self, msg: str = "", level: int = logging.INFO, traceback: bool = False
    ) -> None:
        # Clients that go away are routine here (faults, timeouts): DEBUG.
        # Errors from the app itself (answered 500) stay visible.
        level = level if level >= logging.ERROR else logging.DEBUG
        logger.log(level, "%s", msg, exc_info=traceback)


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
        self._server = _Server(host, port, app, context)
        self._server.prepare()  # binds (port 0 -> a free port), starts workers
        self.port: int = self._server.bind_addr[1]
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

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (keep-alive makes this small)."""
        return self._server.ssl_adapter.accepted

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only the emulator's CA."""
        return ssl.create_default_context(cafile=os.fspath(self.ca_bundle))

    def serve_forever(self) -> None:
        self._server.serve()

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self.serve_forever, name="filemaker-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close idle connections, give in-flight requests up
        to ``_SHUTDOWN_TIMEOUT`` seconds, then cut them off."""
        self._server.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

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
