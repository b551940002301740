"""What real FileMaker Servers do (issue #14), met by the client's download
and the waterfall, against the emulator over HTTPS with each knob on.

One test (at least) per behaviour; each fails on the client before #14. The
import-level ones (953, 301, stored by reference) are in
test_real_server_import.py.
"""

from __future__ import annotations

import io
import logging
import threading

import pytest

from filemaker_migration.dataapi import ContainerNotDataError
from filemaker_migration.dataapi import ContainerUnauthorizedError
from filemaker_migration.dataapi import Observations
from filemaker_migration.dataapi import RequestRejectedError
from filemaker_migration.dataapi import TransferLimitError
from filemaker_migration.fields import ImageFields
from filemaker_migration.pipeline.select import NoUsableImageError
from filemaker_migration.pipeline.select import choose_container
from filemaker_migration.source import SourceRecord
from filemaker_migration.source import parse_record
from tests.dataapi.test_client import make_client
from tests.pipeline.checks import expected_records

LAYOUT = "API_Images"
FIELDS = ImageFields()


def full_size_record(emulator) -> tuple[str, dict]:
    """A record whose best container is a good image_Full, and its oracle."""
    return next(
        (rid, r)
        for rid, r in expected_records(emulator.dataset).items()
        if r["field"] == FIELDS.containers[0] and "md5_mismatch" not in r["defects"]
    )


def from_find(client, record_id: str) -> SourceRecord:
    """The record as the import's pager reads it: from a find."""
    page = client.find(LAYOUT, [{FIELDS.recid: f"=={record_id}"}])
    return parse_record(page.records[0], FIELDS, use_thumbnail=False)


def choose(client, src: SourceRecord):
    return choose_container(client, LAYOUT, src, max_bytes=10**9, md5_of=FIELDS.md5_of)


# 1. A stale URL: a redirect without the session cookie -------------------


@pytest.mark.parametrize("redirect", [True, False], ids=["redirect", "401"])
def test_a_stale_url_is_read_again_not_failed(emulator, redirect):
    emulator.faults.stale_url_every_nth = 1  # every URL a find hands out
    emulator.faults.stale_url_redirect = redirect
    record_id, oracle = full_size_record(emulator)
    with make_client(emulator) as client:
        chosen = choose(client, from_find(client, record_id))
        chosen.close()
    assert (chosen.field, chosen.download.sha256) == (oracle["field"], oracle["sha256"])
    seen = client.observed
    assert seen.count(Observations.URL_REREAD) == 1
    stale = Observations.STALE_URL if redirect else Observations.URL_REFUSED
    assert seen.count(stale) == 1


def test_a_url_stale_after_every_reread_fails_the_field(emulator):
    emulator.faults.stale_url_redirect = True
    emulator.faults.container_url_seconds = 0.0  # even fresh URLs are stale
    record_id, _ = full_size_record(emulator)
    with make_client(emulator) as client:
        src = from_find(client, record_id)
        with pytest.raises(ContainerUnauthorizedError):
            choose(client, src)
    assert client.observed.count(Observations.URL_REREAD) == 2  # bounded


# 2. Streaming that requires the Data API token ----------------------------


def test_streaming_that_requires_the_token_gets_it_on_the_first_request(
    emulator, caplog
):
    emulator.faults.stream_requires_token = True
    record_id, oracle = full_size_record(emulator)
    caplog.set_level(logging.DEBUG)
    with make_client(emulator) as client:
        src = from_find(client, record_id)
        chosen = choose(client, src)
        chosen.close()
        token = client.sessions.sessions[0].token
    assert chosen.download.sha256 == oracle["sha256"]
    # Sent once (the first request), never after the redirect, never logged.
    assert emulator.app.backend.seen["stream_token_requests"] == 1
    assert token not in caplog.text


def test_the_token_never_goes_to_another_host(emulator):
    emulator.faults.stream_requires_token = True
    record_id, _ = full_size_record(emulator)
    with make_client(emulator) as client:
        url = client.get_record(LAYOUT, record_id).get(FIELDS.containers[0])
        # The same server under another name: another host to the client.
        elsewhere = url.replace("://127.0.0.1:", "://localhost:")
        assert elsewhere != url
        with pytest.raises(ContainerUnauthorizedError):
            client.download_container(elsewhere, io.BytesIO(), max_bytes=10**9)
    assert emulator.app.backend.seen["stream_token_requests"] == 0


# 3. A container stored by reference ---------------------------------------


def test_a_container_stored_by_reference_is_a_final_skip_naming_the_field(emulator):
    record_id, _ = full_size_record(emulator)
    emulator.faults.reference_records = record_id
    with make_client(emulator) as client:
        src = from_find(client, record_id)
        with pytest.raises(NoUsableImageError) as caught:
            choose(client, src)
    assert caught.value.reason == "stored_by_reference"
    assert FIELDS.containers[0] in caught.value.detail
    assert "filewin:" in caught.value.detail
    assert "Images" not in caught.value.detail  # never the path (patients' names)
    # Not a smaller size in its place, and not one request to the server.
    assert caught.value.tried == [
        {"field": FIELDS.containers[0], "result": "stored_by_reference"}
    ]
    assert emulator.app.backend.seen["stream_bodies"] == 0


# 4. One token is one single-threaded session ------------------------------


def _hammer(client, threads: int = 8, calls: int = 4) -> None:
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work() -> None:
        start.wait()
        try:
            for _ in range(calls):
                client.get_record(LAYOUT, "1")
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []


def test_requests_on_one_session_stay_within_the_bound(emulator):
    emulator.faults.one_request_per_token = True
    emulator.faults.latency_ms = 20  # the server's time per call
    # The defaults: one session, FM_REQUESTS_PER_SESSION=2; many workers.
    with make_client(emulator, max_concurrency=32) as client:
        _hammer(client)
    assert emulator.app.backend.gate.peak_per_token <= 2


def test_more_sessions_spread_the_requests_within_the_server_cap(emulator, caplog):
    emulator.faults.one_request_per_token = True
    emulator.faults.latency_ms = 20
    emulator.faults.max_sessions = 3  # the server's cap: one session fewer
    with make_client(emulator, sessions=4, requests_per_session=1) as client:
        _hammer(client)
    gate = emulator.app.backend.gate
    assert gate.peak_per_token == 1
    assert len(gate.tokens_seen) == 3
    assert "FM_SESSIONS" in caplog.text  # the refused fourth is named


# 5. The transfer allowance (953) ------------------------------------------


def test_953_is_its_own_error_and_never_retried(emulator):
    record_id, _ = full_size_record(emulator)
    with make_client(emulator) as client:
        url = client.get_record(LAYOUT, record_id).get(FIELDS.containers[0])
        emulator.faults.transfer_budget_bytes = 1  # spent long ago
        with pytest.raises(TransferLimitError) as on_call:
            client.get_record(LAYOUT, record_id)
        with pytest.raises(TransferLimitError) as on_download:
            client.download_container(url, io.BytesIO(), max_bytes=10**9)
        assert client.observed.count(Observations.TRANSFER_LIMIT) == 2
    assert on_call.value.code == on_download.value.code == 953


# 7. A web page where the file should be -----------------------------------


def test_a_web_page_in_place_of_the_file_is_retried_never_a_smaller_size(emulator):
    emulator.faults.html_200_every_nth = 2  # the first body, then the file
    record_id, oracle = full_size_record(emulator)
    with make_client(emulator) as client:
        src = from_find(client, record_id)
        emulator.app.backend.seen.bump("stream_bodies")  # the next one is a page
        chosen = choose(client, src)
        chosen.close()
    assert emulator.app.backend.seen["html_pages"] == 1
    assert (chosen.field, chosen.download.sha256) == (oracle["field"], oracle["sha256"])
    assert client.observed.count(Observations.NOT_DATA) == 1


def test_web_pages_on_every_try_fail_the_download_not_the_field(emulator):
    emulator.faults.html_200_every_nth = 1
    record_id, _ = full_size_record(emulator)
    with make_client(emulator, max_attempts=2) as client:
        src = from_find(client, record_id)
        with pytest.raises(ContainerNotDataError):
            choose(client, src)
    # Both labels (text/html, and the file's own type) were met and refused.
    assert emulator.app.backend.seen["html_pages"] == 2


# 8. Portals ---------------------------------------------------------------


def test_reads_ask_for_no_portal_rows(emulator):
    emulator.faults.portal_rows = 20
    record_id, _ = full_size_record(emulator)
    with make_client(emulator) as client:
        client.get_record(LAYOUT, record_id)
        client.get_records(LAYOUT, limit=5)
        from_find(client, record_id)
        fields = client.layout_fields(LAYOUT)
    assert emulator.app.backend.seen["portal_rows"] == 0
    assert client.layout_portals == ["Notes"]
    assert "Notes::text" not in fields


# 9. Request validation ----------------------------------------------------


def test_the_client_passes_strict_validation_and_a_rejection_is_named(emulator):
    emulator.faults.strict_validation = True
    record_id, oracle = full_size_record(emulator)
    with make_client(emulator) as client:
        chosen = choose(client, from_find(client, record_id))
        chosen.close()
        client.get_records(LAYOUT, limit=2)
        client.edit_record(LAYOUT, record_id, {FIELDS.receipt_key: ""})
        with pytest.raises(RequestRejectedError) as caught:
            client.find(LAYOUT, [{FIELDS.recid: ">0"}], limit=0)
    assert chosen.download.sha256 == oracle["sha256"]
    assert (caught.value.code, caught.value.http_status) == (960, 400)
    assert client.observed.count(Observations.REJECTED) >= 1
    assert client.observed.count(Observations.PORTAL_PARAM_REFUSED) == 0
