"""Container URLs and the streaming service's cookie handshake."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.emulator.conftest import Contract

RECORDS = "/layouts/API_Images/records"


def _field(fm: Contract, token: str, record_id: int, name: str) -> str:
    response = fm.api("GET", f"{RECORDS}/{record_id}", token=token)
    return response.json()["response"]["data"][0]["fieldData"][name]


def _download(fm: Contract, url: str) -> tuple[httpx.Response, httpx.Response]:
    client = fm.fresh_client()
    first = client.get(url)
    return first, client.get(first.headers["Location"])


def test_container_url_has_filemaker_shape(fm: Contract, token: str):
    url = _field(fm, token, 1, "image_Full")
    host = "fm.test" if fm.kind == "inprocess" else f"127.0.0.1:{fm.server.port}"
    assert url.startswith(f"https://{host}/Streaming_SSL/MainDB/")
    name, query = url.rsplit("/", 1)[1].split("?")
    token_part, extension = name.split(".")
    assert len(token_part) == 64
    assert token_part == token_part.upper()
    assert int(token_part, 16) >= 0
    assert extension == "jpg"
    assert query == "RCType=EmbeddedRCFileProcessor"


def test_empty_container_is_empty_string(fm: Contract, token: str):
    assert _field(fm, token, 2, "image_Thumb") == ""


@pytest.mark.parametrize(
    ("record_id", "field", "path", "content_type"),
    [
        (1, "image_Full", "files/a.jpg", "image/jpeg"),
        (1, "image_Thumb", "files/a_thumb.png", "image/png"),
        (3, "image_Full", "files/c.tif", "image/tiff"),
        (10, "image_Full", "files/d.pdf", "application/pdf"),
        (11, "image_Thumb", "files/blob.bin", "application/octet-stream"),
    ],
)
def test_handshake_redirects_with_cookie_then_streams_bytes(
    fm: Contract, token: str, dataset_dir: Path, record_id, field, path, content_type
):
    url = _field(fm, token, record_id, field)
    first, second = _download(fm, url)
    assert first.status_code == 302
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("X-FMS-Session-Key=")
    assert "HttpOnly" in cookie
    assert "Path=/Streaming_SSL" in cookie
    assert first.headers["Location"].startswith(url)
    assert second.status_code == 200
    expected = (dataset_dir / path).read_bytes()
    assert second.content == expected
    assert second.headers["Content-Type"] == content_type
    assert second.headers["Content-Length"] == str(len(expected))


def test_following_redirects_with_one_client_works(fm: Contract, token: str):
    url = _field(fm, token, 2, "image_Full")
    response = fm.fresh_client().get(url, follow_redirects=True)
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")


def test_stream_without_cookie_does_not_serve_bytes(fm: Contract, token: str):
    url = _field(fm, token, 1, "image_Full")
    response = fm.fresh_client().get(url)
    assert response.status_code == 302
    assert response.content == b""


def test_stream_with_another_objects_cookie_answers_401(fm: Contract, token: str):
    url_a = _field(fm, token, 1, "image_Full")
    url_b = _field(fm, token, 2, "image_Full")
    cookie_a = fm.fresh_client().get(url_a).cookies["X-FMS-Session-Key"]
    response = fm.fresh_client().get(
        url_b, headers={"Cookie": f"X-FMS-Session-Key={cookie_a}"}
    )
    assert response.status_code == 401
    assert response.content == b""


def test_shared_cookie_jar_sends_the_wrong_key(fm: Contract, token: str):
    """fuzzzerd/fmdata#287: one jar sends object A's key to object B -> 401."""
    url_a = _field(fm, token, 1, "image_Full")
    url_b = _field(fm, token, 2, "image_Full")
    shared = fm.fresh_client()
    assert shared.get(url_a).status_code == 302
    assert shared.get(url_b).status_code == 401
    assert shared.get(url_a).status_code == 200


def test_unknown_object_answers_401(fm: Contract):
    url = "/Streaming_SSL/MainDB/" + "AB" * 32 + ".jpg?RCType=EmbeddedRCFileProcessor"
    response = fm.fresh_client().get(url, headers={"Cookie": "X-FMS-Session-Key=x"})
    assert response.status_code == 401
    assert fm.fresh_client().get(url).status_code == 401


def test_container_url_expires_and_rereading_renews_it(fm: Contract, token: str):
    fm.app.faults.container_url_seconds = 60
    url = _field(fm, token, 1, "image_Full")
    fm.clock.advance(61)
    assert fm.fresh_client().get(url).status_code == 401
    fresh = _field(fm, token, 1, "image_Full")
    first, second = _download(fm, fresh)
    assert (first.status_code, second.status_code) == (302, 200)


def test_urls_from_an_earlier_emulator_run_do_not_work(fm: Contract, token: str, app):
    url = _field(fm, token, 1, "image_Full")
    path = "/" + url.split("/", 3)[3]
    other = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://x")
    with other:
        assert other.get(path).status_code == 401
