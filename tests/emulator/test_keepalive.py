"""The HTTPS server keeps connections alive (HTTP/1.1), and stays correct:
bodies read to their end, ``Connection: close`` honoured, idle connections
closed, stalled handshakes harmless, dropped connections really dropped."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator

import httpx
import pytest

from filemaker_migration.emulator import EmulatorApp
from filemaker_migration.emulator import EmulatorServer
from filemaker_migration.emulator import server as server_module
from tests.emulator.conftest import ACCOUNT
from tests.emulator.conftest import PASSWORD

DB = "/fmi/data/vLatest/databases/Clinic"
PRODUCT_INFO = "/fmi/data/vLatest/productInfo"


@pytest.fixture
def server(app: EmulatorApp) -> Iterator[EmulatorServer]:
    with EmulatorServer(app, port=0) as running:
        yield running


def _connection(server: EmulatorServer) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=server.ssl_context(), timeout=30
    )


def test_one_connection_serves_api_calls_and_container_downloads(
    server: EmulatorServer,
):
    with httpx.Client(
        base_url=server.url, verify=server.ssl_context(), timeout=30
    ) as client:
        login = client.post(f"{DB}/sessions", auth=(ACCOUNT, PASSWORD), json={})
        auth = {"Authorization": f"Bearer {login.json()['response']['token']}"}
        statuses = [login.status_code]
        for _ in range(8):
            record = client.get(f"{DB}/layouts/API_Images/records/1", headers=auth)
            statuses.append(record.status_code)
            url = record.json()["response"]["data"][0]["fieldData"]["image_Full"]
            # 302 + cookie, then 200 (later downloads of it: 200 at once)
            download = client.get(url, follow_redirects=True)
            statuses += [r.status_code for r in (*download.history, download)]
            statuses.append(client.get(PRODUCT_INFO).status_code)
        logout = client.delete(f"{DB}/sessions/{auth['Authorization'][7:]}")
        statuses.append(logout.status_code)
    assert len(statuses) == 27
    assert statuses.count(302) == 1
    assert set(statuses) == {200, 302}
    assert server.connections_accepted == 1


def test_unread_request_bodies_do_not_leak_into_the_next_request(
    server: EmulatorServer,
):
    conn = _connection(server)
    try:
        # productInfo is GET only: the app answers without reading the body.
        conn.request("POST", PRODUCT_INFO, body=b"GET / HTTP/1.1\r\n" * 4096)
        assert conn.getresponse().read()
        conn.request(
            "POST",
            PRODUCT_INFO,
            body=iter([b"GET /x HTTP/1.1\r\n\r\n"] * 50),
            encode_chunked=True,
        )
        assert conn.getresponse().read()
        conn.request("GET", PRODUCT_INFO)
        response = conn.getresponse()
        assert response.status == 200
        assert b"productInfo" in response.read()
    finally:
        conn.close()
    assert server.connections_accepted == 1


def test_connection_close_from_the_client_is_honoured(server: EmulatorServer):
    conn = _connection(server)
    try:
        conn.request("GET", PRODUCT_INFO, headers={"Connection": "close"})
        response = conn.getresponse()
        assert response.getheader("Connection") == "close"
        response.read()
        assert conn.sock is None  # http.client closed it, as told
    finally:
        conn.close()


def test_idle_connection_is_closed_by_the_server(
    app: EmulatorApp, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(server_module, "IDLE_TIMEOUT", 0.2)
    with EmulatorServer(app, port=0) as server:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        with server.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % PRODUCT_INFO.encode())
            received = b""
            # Blocks until the server closes the idle connection (EOF).
            while chunk := s.recv(65536):
                received += chunk
    assert received.startswith(b"HTTP/1.1 200 ")
    assert b"productInfo" in received


def test_a_stalled_tls_handshake_holds_up_nobody(server: EmulatorServer):
    # Connected, never says hello; others are still served.
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=30),
        httpx.Client(verify=server.ssl_context(), timeout=30) as client,
    ):
        assert client.get(server.url + PRODUCT_INFO).status_code == 200


def test_dropped_connection_answers_nothing(server: EmulatorServer):
    server.app.faults.drop_probability = 1.0
    conn = _connection(server)
    try:
        conn.request("GET", PRODUCT_INFO)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            conn.getresponse()
    finally:
        conn.close()
    server.app.faults.drop_probability = 0.0
    with httpx.Client(verify=server.ssl_context(), timeout=30) as client:
        assert client.get(server.url + PRODUCT_INFO).status_code == 200


def test_stop_closes_idle_keepalive_connections(app: EmulatorApp):
    server = EmulatorServer(app, port=0).start()
    conn = _connection(server)
    try:
        conn.request("GET", PRODUCT_INFO)
        conn.getresponse().read()
        server.stop()
        assert conn.sock is not None
        assert conn.sock.recv(1) == b""
    finally:
        conn.close()
