"""python-fmrest, a client nobody here wrote, against the emulator over HTTPS
with certificate verification on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fmrest
import pytest
from fmrest.exceptions import FileMakerError

from filemaker_migration.emulator import EmulatorServer
from filemaker_migration.emulator import make_app


@pytest.fixture
def server(dataset_dir: Path) -> Iterator[EmulatorServer]:
    app = make_app(dataset_dir)
    with EmulatorServer(app, port=0) as running:
        yield running
    app.close()


@pytest.fixture
def fms(server: EmulatorServer) -> fmrest.Server:
    return fmrest.Server(
        server.url,
        user="api",
        password="s3cret",
        database="Clinic",
        layout="API_Images",
        verify_ssl=str(server.ca_bundle),
        api_version="vLatest",
    )


def test_fmrest_session_records_find_fetch_edit(fms: fmrest.Server, dataset_dir):
    token = fms.login()
    assert token is not None
    assert len(token) == 52

    foundset = fms.get_records(limit=3)
    assert [r.record_id for r in foundset] == [1, 2, 3]
    assert foundset.info["foundCount"] == 6

    found = fms.find([{"caption": "molar"}, {"patient_id": "2"}])
    assert [r.image_id for r in found] == ["IMG-001", "IMG-002", "IMG-010"]

    with pytest.raises(FileMakerError) as excinfo:
        fms.find([{"image_id": "==nothing-here"}])
    assert fms.last_error == 401
    assert "401" in str(excinfo.value)

    record = fms.get_record(1)
    name, content_type, length, response = fms.fetch_file(record.image_Full)
    expected = (dataset_dir / "files/a.jpg").read_bytes()
    assert response.status_code == 200
    assert response.content == expected
    assert content_type == "image/jpeg"
    assert length == str(len(expected))
    assert name.endswith(".jpg")

    assert fms.edit_record(1, {"NexusExportDate": "07/08/2025"}, mod_id=None)
    assert fms.get_record(1).NexusExportDate == "07/08/2025"
    with pytest.raises(FileMakerError):
        fms.edit_record(1, {"caption": "x"}, mod_id=99)
    assert fms.last_error == 306

    assert fms.logout()


def test_fmrest_auto_relogin_recovers_from_952(server, fms: fmrest.Server):
    fms.auto_relogin = True
    fms.login()
    server.app.faults.invalidate_sessions_after_calls = 1
    assert fms.get_record(2).image_id == "IMG-002"
    assert fms.get_record(3).image_id == "IMG-003"  # 952, re-login, replay
    fms.logout()


def test_fmrest_bad_password_gives_212(server: EmulatorServer):
    fms = fmrest.Server(
        server.url, user="api", password="nope", database="Clinic",
        layout="API_Images", verify_ssl=str(server.ca_bundle), api_version="v1",
    )  # fmt: skip
    with pytest.raises(FileMakerError):
        fms.login()
    assert fms.last_error == 212
