"""The knobs for what real FileMaker Servers do (issue #14), each observable.

Off by default; ``strict_profile()`` turns on all that keep outcomes as they
are. Each test is one behaviour, against the emulator in-process and over
HTTPS, answered as the docs (docs/filemaker-integration.md) say.
"""

from __future__ import annotations

import threading

from filemaker_migration.emulator import FaultConfig
from filemaker_migration.emulator import strict_profile
from tests.emulator.conftest import Contract
from tests.emulator.conftest import code

RECORDS = "/layouts/API_Images/records"
FIND = "/layouts/API_Images/_find"


def _find_url(fm: Contract, token: str, record_id: int, field: str) -> str:
    """A container URL as a find hands it out (a page read, not the record)."""
    body = {"query": [{"image_id": f"==IMG-{record_id:03d}"}]}
    response = fm.api("POST", FIND, token=token, json=body)
    return response.json()["response"]["data"][0]["fieldData"][field]


def _record_url(fm: Contract, token: str, record_id: int, field: str) -> str:
    response = fm.api("GET", f"{RECORDS}/{record_id}", token=token)
    return response.json()["response"]["data"][0]["fieldData"][field]


# 1. Stale container URLs --------------------------------------------------


def test_stale_url_redirects_without_a_cookie_until_the_record_is_read(
    fm: Contract, token: str
):
    fm.app.faults.stale_url_every_nth = 1
    fm.app.faults.stale_url_redirect = True
    stale = _find_url(fm, token, 1, "image_Full")
    first = fm.fresh_client().get(stale)
    assert first.status_code == 302
    assert "set-cookie" not in first.headers  # the stale signal (fmrest-ruby)
    fresh = _record_url(fm, token, 1, "image_Full")
    assert fresh == stale  # the same object, a fresh lifetime
    handshake = fm.fresh_client().get(fresh)
    assert handshake.status_code == 302
    assert "X-FMS-Session-Key=" in handshake.headers["set-cookie"]


def test_stale_url_answers_401_without_the_redirect_knob(fm: Contract, token: str):
    fm.app.faults.stale_url_every_nth = 1
    assert (
        fm.fresh_client().get(_find_url(fm, token, 1, "image_Full")).status_code == 401
    )


# 2. Token on the streaming URL ------------------------------------------


def test_streaming_can_require_the_data_api_token(fm: Contract, token: str):
    fm.app.faults.stream_requires_token = True
    url = _record_url(fm, token, 1, "image_Full")
    assert fm.fresh_client().get(url).status_code == 401
    bogus = {"Authorization": "Bearer " + "0" * 52}
    assert fm.fresh_client().get(url, headers=bogus).status_code == 401
    client = fm.fresh_client()
    first = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 302
    # The cookie alone serves the bytes: the token is for the first request.
    assert client.get(first.headers["location"]).status_code == 200
    assert fm.app.backend.seen["stream_token_requests"] == 2


# 3. Containers stored by reference ----------------------------------------


def test_reference_records_show_a_file_path_not_a_url(fm: Contract, token: str):
    fm.app.faults.reference_records = "1, 3"
    assert _record_url(fm, token, 1, "image_Full") == "filewin:/C:/Clinic/Images/a.jpg"
    assert _record_url(fm, token, 3, "image_Full").startswith("filewin:/")
    assert _record_url(fm, token, 2, "image_Full").startswith("https://")
    assert _record_url(fm, token, 4, "image_Full") == ""  # empty stays empty


# 4. One request at a time per token ---------------------------------------


def test_requests_on_one_token_queue_and_the_queue_is_counted(fm: Contract, token: str):
    fm.app.faults.one_request_per_token = True
    gate = fm.app.backend.gate
    release, entered = threading.Event(), threading.Event()
    real_render = fm.app.backend.render

    def held_render(*args, **kwargs):
        if not entered.is_set():  # only the first request is held
            entered.set()
            release.wait(timeout=30)
        return real_render(*args, **kwargs)

    fm.app.backend.render = held_render
    other = fm.login()
    done: list[str] = []

    def read(name: str, with_token: str) -> None:
        response = fm.api("GET", f"{RECORDS}/1", token=with_token)
        done.append(f"{name} {response.status_code}")

    first = threading.Thread(target=read, args=("first", token))
    first.start()
    assert entered.wait(timeout=30)
    second = threading.Thread(target=read, args=("second", token))
    second.start()
    assert gate.wait_for(token, 2)  # queued behind the first
    read("other session", other)  # another token is served meanwhile
    assert done == ["other session 200"]
    release.set()
    first.join()
    second.join()
    assert done[0] == "other session 200"
    assert sorted(done[1:]) == ["first 200", "second 200"]
    assert gate.peak_per_token == 2
    assert len(gate.tokens_seen) == 2


# 5. The transfer allowance ----------------------------------------------


def test_transfer_budget_answers_953_once_spent(fm: Contract, token: str):
    # One byte left: the next answer is sent, the one after is refused.
    fm.app.faults.transfer_budget_bytes = fm.app.backend.meter.sent + 1
    assert fm.api("GET", f"{RECORDS}/1", token=token).status_code == 200
    response = fm.api("GET", f"{RECORDS}/1", token=token)
    assert (response.status_code, code(response)) == (500, "953")
    url_answer = fm.fresh_client().get("/Streaming_SSL/MainDB/X.jpg")
    assert code(url_answer) == "953"  # containers count too (UNCONFIRMED)
    fm.app.faults.transfer_counts_containers = False
    assert fm.fresh_client().get("/Streaming_SSL/MainDB/X.jpg").status_code == 401


# 6. Records in use ------------------------------------------------------


def test_a_record_open_elsewhere_refuses_edits_for_a_while(fm: Contract, token: str):
    fm.app.faults.locked_every_nth = 2
    fm.app.faults.lock_refusals = 2
    edit = {"fieldData": {"caption": "edited"}}
    statuses = [
        code(fm.api("PATCH", f"{RECORDS}/2", token=token, json=edit)) for _ in range(3)
    ]
    assert statuses == ["301", "301", "0"]
    assert code(fm.api("PATCH", f"{RECORDS}/3", token=token, json=edit)) == "0"
    record = fm.api("GET", f"{RECORDS}/2", token=token).json()["response"]["data"][0]
    assert record["modId"] == "1"  # refused edits changed nothing


# 7. A web page where the file should be -----------------------------------


def test_every_nth_body_request_gets_a_proxy_page(fm: Contract, token: str):
    fm.app.faults.html_200_every_nth = 1
    url = _record_url(fm, token, 1, "image_Full")
    kinds = []
    for _ in range(2):
        client = fm.fresh_client()
        first = client.get(url)
        body = client.get(first.headers["location"])
        assert body.status_code == 200
        assert body.content.startswith(b"<!DOCTYPE html>")
        kinds.append(body.headers["content-type"].split(";")[0])
    assert sorted(kinds) == ["image/jpeg", "text/html"]


# 8. Portals -------------------------------------------------------------


def test_every_portal_comes_back_unless_the_read_limits_them(fm: Contract, token: str):
    fm.app.faults.portal_rows = 60
    everything = fm.api("GET", f"{RECORDS}/1", token=token).json()["response"]
    record = everything["data"][0]
    assert len(record["portalData"]["Notes"]) == 50  # the default portal limit
    assert record["portalDataInfo"][0]["foundCount"] == 60
    none = fm.api("GET", f"{RECORDS}/1", token=token, params={"portal": "[]"})
    assert none.json()["response"]["data"][0]["portalData"] == {}
    some = fm.api(
        "POST",
        FIND,
        token=token,
        json={"query": [{"image_id": "==IMG-001"}], "limit.Notes": "2"},
    )
    assert len(some.json()["response"]["data"][0]["portalData"]["Notes"]) == 2
    meta = fm.api("GET", "/layouts/API_Images", token=token).json()["response"]
    assert list(meta["portalMetaData"]) == ["Notes"]


# 9. Request validation --------------------------------------------------


def test_strict_validation_answers_400_and_415(fm: Contract, token: str):
    unknown_key = {"query": [{"image_id": "==IMG-001"}], "_limit": "1"}
    lenient = fm.api("POST", FIND, token=token, json=unknown_key)
    assert lenient.status_code == 200  # the emulator's default: accepted
    fm.app.faults.strict_validation = True
    strict = fm.api("POST", FIND, token=token, json=unknown_key)
    assert (strict.status_code, code(strict)) == (400, "960")
    bad_limit = fm.api("GET", RECORDS, token=token, params={"_limit": "x"})
    assert (bad_limit.status_code, code(bad_limit)) == (400, "960")
    bare = fm.api(
        "POST",
        FIND,
        token=token,
        content=b'{"query": [{"image_id": "==IMG-001"}]}',
    )
    assert bare.status_code == 415


# The profile ------------------------------------------------------------


def test_strict_profile_turns_on_the_real_server_behaviours():
    profile = strict_profile(reference_records="7")
    defaults = FaultConfig()
    assert profile.reference_records == "7"
    for knob in (
        "stale_url_redirect",
        "stream_requires_token",
        "one_request_per_token",
        "strict_validation",
    ):
        assert getattr(profile, knob)
        assert not getattr(defaults, knob)
    for knob in (
        "stale_url_every_nth",
        "transfer_budget_bytes",
        "locked_every_nth",
        "html_200_every_nth",
        "portal_rows",
    ):
        assert getattr(profile, knob) > 0 == getattr(defaults, knob)
