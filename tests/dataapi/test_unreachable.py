"""A server the client cannot reach: each way is named, with what to check.

Real sockets on loopback: a port nobody listens on (refused), a listener
whose queue is full (connect timed out), a plain-HTTP server spoken to over
TLS, and the emulator stopped after it has answered. (An unknown host name
is not tested: it needs a resolver, which this machine may not reach.)
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator

import httpx
import pytest

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import TransportError
from filemaker_migration.dataapi import UnreachableError
from tests.dataapi.test_client import make_client


class CountingTransport(httpx.BaseTransport):
    """The real transport, counting the requests tried."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.tried = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.tried += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def client_at(url: str, transport: httpx.BaseTransport, **kwargs) -> DataAPIClient:
    return DataAPIClient(
        url,
        "Clinic",
        "api",
        "not-the-password",
        max_attempts=5,
        retry_wait_initial=0.001,
        retry_wait_max=0.01,
        transport=transport,
        **kwargs,
    )


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port  # nothing listens there now


def test_a_refused_connection_at_first_contact_is_said_at_once():
    counting = CountingTransport(httpx.HTTPTransport())
    with closed_port() as port:
        client = client_at(f"https://127.0.0.1:{port}", counting)
        with pytest.raises(UnreachableError) as refused:
            client.product_info()
    assert str(refused.value) == (
        f"nothing accepts connections at https://127.0.0.1:{port} (connection "
        "refused): check FM_URL's port, and that FileMaker Server is running"
    )
    assert counting.tried == 1  # no retries before saying so
    client.close()


def test_a_connect_that_gets_no_answer_names_the_timeout_and_the_firewall():
    # A listener that accepts nothing, its queue already full: the kernel
    # lets further connection attempts wait unanswered.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # Linux queues backlog + 1 connections: this one fills the queue.
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            counting = CountingTransport(httpx.HTTPTransport())
            client = client_at(
                f"https://127.0.0.1:{port}", counting, connect_timeout=0.3
            )
            with pytest.raises(UnreachableError) as silent:
                client.product_info()
    assert f"https://127.0.0.1:{port} did not answer within FM_CONNECT_TIMEOUT" in str(
        silent.value
    )
    assert "firewall" in str(silent.value)
    assert counting.tried == 1
    client.close()


def test_tls_to_a_plain_http_port_asks_whether_the_port_is_right(s3_server):
    port = httpx.URL(s3_server).port  # moto's S3 server speaks plain HTTP
    client = client_at(f"https://127.0.0.1:{port}", httpx.HTTPTransport())
    with pytest.raises(TransportError) as failed:
        client.product_info()
    message = str(failed.value)
    assert message.startswith(f"TLS with https://127.0.0.1:{port} failed (")
    assert message.endswith("is FM_URL's port the server's HTTPS port?")
    client.close()


def test_a_server_gone_after_it_answered_is_retried(emulator):
    """Mid-run, a refused connection may be a server restarting: retried."""
    context = ssl.create_default_context(cafile=str(emulator.server.ca_bundle))
    transport = httpx.HTTPTransport(verify=context)
    counting = CountingTransport(transport)
    client = make_client(emulator, max_attempts=3, transport=counting)
    client.product_info()
    emulator.server.stop()
    counting.tried = 0
    with pytest.raises(TransportError):
        client.product_info()
    assert counting.tried == 3
    client.close()
