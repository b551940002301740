"""Each fault knob observably works (recorded sleeps, never wall-clock time)."""

from __future__ import annotations

import httpx
import pytest

from filemaker_migration.emulator import DroppedConnection
from filemaker_migration.emulator import EmulatorApp
from filemaker_migration.emulator import FaultConfig
from filemaker_migration.emulator.containers import Pacer
from tests.emulator.conftest import Contract
from tests.emulator.conftest import FakeClock
from tests.emulator.conftest import code
from tests.emulator.conftest import wsgi_client

RECORDS = "/layouts/API_Images/records"


def _container_url(fm: Contract, token: str, record_id: int, field: str) -> str:
    response = fm.api("GET", f"{RECORDS}/{record_id}", token=token)
    return response.json()["response"]["data"][0]["fieldData"][field]


def test_http_502_is_an_html_page(fm: Contract):
    fm.app.faults.http_502_probability = 1.0
    response = fm.client.get("/fmi/data/vLatest/productInfo")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text
    with pytest.raises(ValueError, match="Expecting value"):
        response.json()


def test_http_503_carries_retry_after(fm: Contract, token: str):
    fm.app.faults.http_503_probability = 1.0
    fm.app.faults.retry_after_seconds = 7
    response = fm.api("GET", RECORDS, token=token)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"


def test_faults_hit_container_downloads_too(fm: Contract, token: str):
    url = _container_url(fm, token, 1, "image_Full")
    fm.app.faults.http_502_probability = 1.0
    assert fm.fresh_client().get(url).status_code == 502


def test_dropped_connection_is_a_transport_error(fm: Contract):
    fm.app.faults.drop_probability = 1.0
    expected = httpx.TransportError if fm.kind == "https" else DroppedConnection
    with pytest.raises(expected):
        fm.client.get("/fmi/data/vLatest/productInfo")
    fm.app.faults.drop_probability = 0.0
    assert fm.client.get("/fmi/data/vLatest/productInfo").status_code == 200


def test_seeded_probabilities_are_reproducible(app: EmulatorApp):
    def statuses() -> list[int]:
        app.faults = FaultConfig(http_503_probability=0.5, seed=42)
        with wsgi_client(app) as client:
            return [
                client.get("/fmi/data/v1/productInfo").status_code for _ in range(20)
            ]

    first = statuses()
    assert first == statuses()
    assert {200, 503} == set(first)


def test_sessions_are_invalidated_after_n_calls(fm: Contract):
    fm.app.faults.invalidate_sessions_after_calls = 2
    token = fm.login()
    assert code(fm.api("GET", "/layouts", token=token)) == "0"
    assert code(fm.api("GET", "/layouts", token=token)) == "0"
    third = fm.api("GET", "/layouts", token=token)
    assert (third.status_code, code(third)) == (401, "952")
    fresh = fm.login()
    assert code(fm.api("GET", "/layouts", token=fresh)) == "0"


def test_session_cap_refuses_extra_logins_with_956(fm: Contract):
    fm.app.faults.max_sessions = 1
    first = fm.login()
    response = fm.client.post(
        fm.path("/sessions"), auth=(fm.account, fm.password), json={}
    )
    assert (response.status_code, code(response)) == (500, "956")
    fm.api("DELETE", f"/sessions/{first}")
    assert fm.login()


def test_token_idle_expiry_slides(fm: Contract):
    fm.app.faults.token_idle_seconds = 10
    token = fm.login()
    fm.clock.advance(9)
    assert code(fm.api("GET", "/layouts", token=token)) == "0"
    fm.clock.advance(9)  # 18 s after login, 9 s after last use: still alive
    assert code(fm.api("GET", "/layouts", token=token)) == "0"
    fm.clock.advance(11)
    response = fm.api("GET", "/layouts", token=token)
    assert (response.status_code, code(response)) == (401, "952")


def test_token_default_lifetime_is_fifteen_minutes(fm: Contract):
    token = fm.login()
    fm.clock.advance(899)
    assert code(fm.api("GET", "/layouts", token=token)) == "0"
    fm.clock.advance(901)
    assert code(fm.api("GET", "/layouts", token=token)) == "952"


def test_every_nth_patch_fails_with_951_and_changes_nothing(fm: Contract, token: str):
    fm.app.faults.fail_every_nth_patch = 2
    body = {"fieldData": {"caption": "edited"}}
    assert code(fm.api("PATCH", f"{RECORDS}/1", token=token, json=body)) == "0"
    failed = fm.api("PATCH", f"{RECORDS}/2", token=token, json=body)
    assert (failed.status_code, code(failed)) == (500, "951")
    record = fm.api("GET", f"{RECORDS}/2", token=token).json()["response"]["data"][0]
    assert (record["modId"], record["fieldData"]["caption"]) == ("0", "Right molar")


def test_latency_sleeps_before_data_api_calls_only(app: EmulatorApp, clock: FakeClock):
    app.faults.latency_ms = 250
    with wsgi_client(app) as client:
        client.get("/fmi/data/v1/productInfo")
        assert clock.sleeps == [0.25]
        client.get("/Streaming_SSL/MainDB/" + "0" * 64 + ".jpg")
        assert clock.sleeps == [0.25]


def test_ttfb_and_stream_cap_pace_the_download(
    app: EmulatorApp, clock: FakeClock, dataset_dir
):
    with wsgi_client(app) as client:
        token = client.post(
            "/fmi/data/v1/databases/Clinic/sessions", auth=("api", "s3cret"), json={}
        ).json()["response"]["token"]
        record = client.get(
            "/fmi/data/v1/databases/Clinic/layouts/API_Images/records/11",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["response"]["data"][0]
        url = record["fieldData"]["image_Thumb"]
        app.faults.container_ttfb_ms = 500
        app.faults.stream_bytes_per_sec = 10_000
        first = client.get(url)
        response = client.get(first.headers["Location"])
    expected = (dataset_dir / "files/blob.bin").read_bytes()
    assert response.content == expected
    assert clock.sleeps[0] == 0.5
    # 20 480 bytes at 10 000 B/s in 1 000-byte chunks: about 2.048 s of pacing.
    assert sum(clock.sleeps[1:]) == pytest.approx(len(expected) / 10_000)
    assert len(clock.sleeps) > 10


def test_total_cap_is_shared_between_streams(app: EmulatorApp):
    app.faults.total_bytes_per_sec = 5_000
    waits: list[float] = []
    # Two streams reserving at the same instant: the second queues behind the
    # first, and each sleeps outside the pacer's lock.
    pacer = Pacer(lambda: app.faults.total_bytes_per_sec, lambda: 100.0, waits.append)
    pacer.take(5_000)
    pacer.take(5_000)
    assert waits == [pytest.approx(1.0), pytest.approx(2.0)]
    app.faults.total_bytes_per_sec = 0
    pacer.take(5_000)
    assert len(waits) == 2


def test_faults_are_off_by_default():
    assert FaultConfig() == FaultConfig(
        latency_ms=0,
        container_ttfb_ms=0,
        stream_bytes_per_sec=0,
        total_bytes_per_sec=0,
        http_502_probability=0.0,
        http_503_probability=0.0,
        drop_probability=0.0,
        invalidate_sessions_after_calls=0,
        max_sessions=0,
        fail_every_nth_patch=0,
    )
