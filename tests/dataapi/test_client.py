"""The Data API client against the emulator over a real HTTPS socket."""

from __future__ import annotations

import hashlib
import io
import json
import threading

import pytest

from filemaker_migration.dataapi import AdaptiveLimiter
from filemaker_migration.dataapi import AuthenticationError
from filemaker_migration.dataapi import ContainerTooLargeError
from filemaker_migration.dataapi import ContainerUnauthorizedError
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.dataapi import LayoutMissingError
from filemaker_migration.dataapi import ServerBusyError
from filemaker_migration.dataapi import TLSVerificationError
from filemaker_migration.dataapi import TransportError
from filemaker_migration.dataset.generate import account_password
from tests.conftest import CLINIC_SEED


def make_client(emulator, **kwargs) -> DataAPIClient:
    options = {
        "ca_bundle": str(emulator.server.ca_bundle),
        "retry_wait_initial": 0.001,
        "retry_wait_max": 0.01,
        **kwargs,
    }
    return DataAPIClient(
        emulator.server.url, "Clinic", "api", account_password(CLINIC_SEED), **options
    )


def oracle(emulator) -> dict:
    return json.loads((emulator.dataset / "expected.json").read_text())["records"]


def test_one_login_serves_many_calls(emulator):
    with make_client(emulator) as client:
        for offset in range(1, 30, 5):
            client.get_records("API_Images", offset=offset, limit=5)
        assert client.logins == 1


def test_dead_token_is_replaced_and_the_call_replayed(emulator):
    emulator.faults.invalidate_sessions_after_calls = 3
    with make_client(emulator) as client:
        ids = [client.get_record("API_Images", str(n)).record_id for n in range(1, 11)]
    assert ids == [str(n) for n in range(1, 11)]
    assert client.logins > 1


def test_wrong_password_is_an_authentication_error(emulator):
    client = DataAPIClient(
        emulator.server.url,
        "Clinic",
        "api",
        "wrong",
        ca_bundle=str(emulator.server.ca_bundle),
    )
    with pytest.raises(AuthenticationError) as caught, client:
        client.login()
    assert caught.value.code == 212
    assert "wrong" not in str(caught.value)


def test_find_without_matches_is_an_empty_page(emulator):
    with make_client(emulator) as client:
        page = client.find("API_Images", [{"id": "==no-such-id"}])
    assert page.records == []
    assert page.found_count == 0


def test_unknown_layout_carries_its_filemaker_code(emulator):
    with make_client(emulator) as client, pytest.raises(LayoutMissingError) as caught:
        client.layout_fields("No_Such_Layout")
    assert caught.value.code == 105
    assert caught.value.http_status == 500


def test_container_download_follows_the_cookie_redirect_and_hashes(emulator):
    expected = oracle(emulator)["1"]
    with make_client(emulator) as client:
        record = client.get_record("API_Images", "1")
        sink = io.BytesIO()
        download = client.download_container(
            record.get(expected["field"]), sink, max_bytes=10**8
        )
    assert download.sha256 == expected["sha256"]
    assert hashlib.sha256(sink.getvalue()).hexdigest() == expected["sha256"]
    assert download.md5 == hashlib.md5(sink.getvalue()).hexdigest()
    assert download.content_type == expected["content_type"]


def test_downloads_at_once_do_not_share_cookies(emulator):
    """A shared cookie jar makes concurrent downloads 401 (fuzzzerd/fmdata#287)."""
    from concurrent.futures import ThreadPoolExecutor

    expected = oracle(emulator)
    wanted = [rid for rid, r in expected.items() if r["outcome"] != "skipped"][:24]
    with make_client(emulator, max_concurrency=12) as client:
        urls = {
            rid: client.get_record("API_Images", rid).get(expected[rid]["field"])
            for rid in wanted
        }

        def fetch(rid: str) -> str:
            return client.download_container(
                urls[rid], io.BytesIO(), max_bytes=10**8
            ).sha256

        with ThreadPoolExecutor(12) as pool:
            got = dict(zip(wanted, pool.map(fetch, wanted), strict=True))
    assert got == {rid: expected[rid]["sha256"] for rid in wanted}


def test_expired_container_url_is_refused(emulator):
    emulator.faults.container_url_seconds = 0.0
    with make_client(emulator) as client:
        url = client.get_record("API_Images", "1").get("image_Full")
        with pytest.raises(ContainerUnauthorizedError):
            client.download_container(url, io.BytesIO(), max_bytes=10**8)


def test_container_over_the_size_limit_is_refused(emulator):
    with make_client(emulator) as client:
        url = client.get_record("API_Images", "1").get("image_Full")
        with pytest.raises(ContainerTooLargeError):
            client.download_container(url, io.BytesIO(), max_bytes=1000)


def test_busy_server_is_retried_then_reported_and_concurrency_drops(emulator):
    emulator.faults.http_503_probability = 1.0
    emulator.faults.retry_after_seconds = 0
    client = make_client(emulator, max_attempts=3, max_concurrency=8)
    with pytest.raises(ServerBusyError) as caught:
        client.product_info()
    assert caught.value.http_status == 503
    assert caught.value.retry_after == 0
    assert client.limiter.overloads == 3
    assert client.limiter.limit == 1
    client.close()


def test_dropped_connections_are_transport_errors(emulator):
    emulator.faults.drop_probability = 1.0
    client = make_client(emulator, max_attempts=2)
    with pytest.raises(TransportError):
        client.product_info()
    emulator.faults.drop_probability = 0.0
    client.close()


def test_unknown_certificate_fails_with_a_clear_error(emulator):
    # No CA bundle: the emulator's private CA is not among the system's CAs.
    client = DataAPIClient(emulator.server.url, "Clinic", "api", "x", max_attempts=1)
    with pytest.raises(TLSVerificationError, match="FM_CA_BUNDLE"):
        client.product_info()
    client.close()


def test_plain_http_urls_are_refused():
    with pytest.raises(ValueError, match="https"):
        DataAPIClient("http://fm.example", "Clinic", "api", "x")


def test_limiter_halves_on_overload_and_recovers_step_by_step():
    limiter = AdaptiveLimiter(16, successes_per_step=2)
    limiter.on_overload()
    limiter.on_overload()
    assert limiter.limit == 4
    for _ in range(4):
        limiter.on_success()
    assert limiter.limit == 6
    for _ in range(100):
        limiter.on_success()
    assert limiter.limit == 16
    assert limiter.lowest_limit == 4


def test_each_thread_talks_over_one_connection_of_its_own(emulator):
    """Workers share the login, not a connection pool (and its lock)."""
    client = make_client(emulator)
    before = emulator.server.connections_accepted
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        for _ in range(5):
            client.get_records("API_Images", limit=1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One login (on whichever thread came first), and one connection a thread.
    assert client.logins == 1
    assert emulator.server.connections_accepted - before == 4
    client.close()
    # Closed means closed for every thread; the client can still be used again.
    assert client.product_info()["name"]
    client.close()


def test_a_missing_layout_names_it_and_the_setting(emulator):
    with make_client(emulator) as client, pytest.raises(LayoutMissingError) as raised:
        client.layout_fields("API_Imagez")
    message = str(raised.value)
    assert "layout 'API_Imagez' is not in database 'Clinic'" in message
    assert "FM_LAYOUT" in message
    assert raised.value.code == 105


def test_a_missing_database_names_it_and_the_setting(emulator):
    client = DataAPIClient(
        emulator.server.url,
        "Clinik",
        "api",
        account_password(CLINIC_SEED),
        ca_bundle=str(emulator.server.ca_bundle),
    )
    with client, pytest.raises(DataAPIError) as raised:
        client.layout_fields("API_Images")
    message = str(raised.value)
    assert "database 'Clinik' is not hosted" in message
    assert "FM_DATABASE" in message


def test_a_refused_account_points_at_the_data_api_privilege(emulator):
    client = DataAPIClient(
        emulator.server.url,
        "Clinic",
        "api",
        "not-the-password",
        ca_bundle=str(emulator.server.ca_bundle),
    )
    with client, pytest.raises(AuthenticationError) as raised:
        client.layout_fields("API_Images")
    message = str(raised.value)
    assert "fmrest extended privilege" in message
    assert "not-the-password" not in message
