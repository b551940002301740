"""Records: ranges, single records, value shapes, create/edit/delete, and
durability across an emulator restart."""

from __future__ import annotations

import json
from pathlib import Path

from filemaker_migration.emulator import make_app
from tests.emulator.conftest import PLANTED_MD5
from tests.emulator.conftest import Contract
from tests.emulator.conftest import build_dataset
from tests.emulator.conftest import code
from tests.emulator.conftest import wsgi_client

RECORDS = "/layouts/API_Images/records"


def _ids(response) -> list[str]:
    return [r["recordId"] for r in response.json()["response"]["data"]]


def test_range_defaults_to_all_records_in_id_order(fm: Contract, token: str):
    response = fm.api("GET", RECORDS, token=token)
    assert _ids(response) == ["1", "2", "3", "4", "10", "11"]
    info = response.json()["response"]["dataInfo"]
    assert info == {
        "database": "Clinic",
        "layout": "API_Images",
        "table": "Images",
        "totalRecordCount": 6,
        "foundCount": 6,
        "returnedCount": 6,
    }


def test_range_offset_is_one_based_and_limit_caps(fm: Contract, token: str):
    response = fm.api("GET", RECORDS, token=token, params={"_offset": 2, "_limit": 3})
    assert _ids(response) == ["2", "3", "4"]
    assert response.json()["response"]["dataInfo"]["returnedCount"] == 3


def test_range_offset_past_end_answers_101(fm: Contract, token: str):
    response = fm.api("GET", RECORDS, token=token, params={"_offset": 7})
    assert (response.status_code, code(response)) == (500, "101")


def test_range_of_empty_table_answers_101(fm: Contract, token: str):
    for record_id in ("1", "2", "3"):
        fm.api("DELETE", f"/layouts/API_Contacts/records/{record_id}", token=token)
    response = fm.api("GET", "/layouts/API_Contacts/records", token=token)
    assert (response.status_code, code(response)) == (500, "101")


def test_range_sorts_numbers_numerically_and_descending(fm: Contract, token: str):
    sort = [{"fieldName": "patient_id", "sortOrder": "ascend"}]
    response = fm.api("GET", RECORDS, token=token, params={"_sort": json.dumps(sort)})
    assert _ids(response) == ["10", "1", "2", "3", "4", "11"]
    sort = [
        {"fieldName": "patient_id", "sortOrder": "descend"},
        {"fieldName": "taken", "sortOrder": "ascend"},
    ]
    response = fm.api("GET", RECORDS, token=token, params={"_sort": json.dumps(sort)})
    assert _ids(response) == ["11", "4", "3", "1", "2", "10"]


def test_range_sorts_dates_as_dates(fm: Contract, token: str):
    sort = [{"fieldName": "taken", "sortOrder": "ascend"}]
    response = fm.api("GET", RECORDS, token=token, params={"_sort": json.dumps(sort)})
    # Empty first; then 12/31/2023 before 01/15/2024 (text order would differ).
    assert _ids(response) == ["11", "3", "1", "2", "10", "4"]


def test_sort_on_unknown_field_answers_102(fm: Contract, token: str):
    sort = json.dumps([{"fieldName": "nope", "sortOrder": "ascend"}])
    response = fm.api("GET", RECORDS, token=token, params={"_sort": sort})
    assert (response.status_code, code(response)) == (500, "102")


def test_invalid_limit_answers_960(fm: Contract, token: str):
    response = fm.api("GET", RECORDS, token=token, params={"_limit": "lots"})
    assert (response.status_code, code(response)) == (500, "960")


def test_record_values_have_filemaker_shapes(fm: Contract, token: str):
    response = fm.api("GET", f"{RECORDS}/1", token=token)
    body = response.json()["response"]
    assert body["dataInfo"]["foundCount"] == body["dataInfo"]["returnedCount"] == 1
    record = body["data"][0]
    assert (record["recordId"], record["modId"]) == ("1", "0")
    assert record["portalData"] == {}
    data = record["fieldData"]
    assert data["patient_id"] == 10
    assert data["taken"] == "01/15/2024"
    assert data["updated"] == "01/15/2024 09:30:00"
    assert data["NexusExportDate"] == ""
    assert data["image_Full"].startswith("https://")
    assert "/Streaming_SSL/MainDB/" in data["image_Full"]


def test_dateformats_2_renders_iso(fm: Contract, token: str):
    response = fm.api("GET", f"{RECORDS}/1", token=token, params={"dateformats": 2})
    data = response.json()["response"]["data"][0]["fieldData"]
    assert data["taken"] == "2024-01-15"
    assert data["updated"] == "2024-01-15T09:30:00"


def test_layout_response_renders_another_layout(fm: Contract, token: str):
    response = fm.api(
        "GET", f"{RECORDS}/1", token=token, params={"layout.response": "Nope"}
    )
    assert code(response) == "105"


def test_md5_calculation_is_computed_unless_planted(
    fm: Contract, token: str, dataset_dir
):
    import hashlib

    one = fm.api("GET", f"{RECORDS}/1", token=token).json()["response"]["data"][0]
    expected = hashlib.md5((dataset_dir / "files/a.jpg").read_bytes()).hexdigest()
    assert one["fieldData"]["image_Full_MD5"] == expected
    three = fm.api("GET", f"{RECORDS}/3", token=token).json()["response"]["data"][0]
    assert three["fieldData"]["image_Full_MD5"] == PLANTED_MD5
    four = fm.api("GET", f"{RECORDS}/4", token=token).json()["response"]["data"][0]
    assert four["fieldData"]["image_Full_MD5"] == ""


def test_metadata_reports_result_types(fm: Contract, token: str):
    meta = fm.api("GET", "/layouts/API_Images", token=token).json()["response"]
    results = {f["name"]: (f["type"], f["result"]) for f in meta["fieldMetaData"]}
    assert results["patient_id"] == ("normal", "number")
    assert results["taken"] == ("normal", "date")
    assert results["updated"] == ("normal", "timeStamp")
    assert results["image_Full"] == ("normal", "container")
    assert results["image_Full_MD5"] == ("calculation", "text")
    assert meta["portalMetaData"] == {}
    assert meta["valueLists"] == []
    layouts = fm.api("GET", "/layouts", token=token).json()["response"]["layouts"]
    assert layouts == [
        {"name": "API_Images", "table": "Images"},
        {"name": "API_Contacts", "table": "Contacts"},
    ]


def test_wrong_database_answers_802(fm: Contract, token: str):
    response = fm.client.get(
        fm.path("/layouts", database="Other"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, code(response)) == (500, "802")


def test_create_returns_string_ids_and_appends(fm: Contract, token: str):
    response = fm.api(
        "POST",
        "/layouts/API_Contacts/records",
        token=token,
        json={"fieldData": {"contact_id": "4", "name": "New Person"}},
    )
    assert response.json()["response"] == {"recordId": "4", "modId": "0"}
    record = fm.api("GET", "/layouts/API_Contacts/records/4", token=token).json()
    data = record["response"]["data"][0]["fieldData"]
    assert data == {"contact_id": 4, "name": "New Person", "city": ""}


def test_create_with_unknown_field_answers_102(fm: Contract, token: str):
    response = fm.api("POST", RECORDS, token=token, json={"fieldData": {"nope": "x"}})
    assert (response.status_code, code(response)) == (500, "102")


def test_edit_increments_mod_id_and_checks_it(fm: Contract, token: str):
    url = f"{RECORDS}/1"
    body = {"fieldData": {"NexusExportDate": "4/2/2025"}, "modId": "0"}
    response = fm.api("PATCH", url, token=token, json=body)
    assert response.json() == {
        "response": {"modId": "1"},
        "messages": [{"code": "0", "message": "OK"}],
    }
    stale = fm.api("PATCH", url, token=token, json=body)
    assert (stale.status_code, code(stale)) == (500, "306")
    record = fm.api("GET", url, token=token).json()["response"]["data"][0]
    assert record["modId"] == "1"
    assert record["fieldData"]["NexusExportDate"] == "04/02/2025"


def test_edit_with_empty_field_data_changes_nothing(fm: Contract, token: str):
    response = fm.api("PATCH", f"{RECORDS}/2", token=token, json={"fieldData": {}})
    assert response.json()["response"] == {"modId": "0"}


def test_edit_errors(fm: Contract, token: str):
    unknown = fm.api("PATCH", f"{RECORDS}/1", token=token, json={"fieldData": {"x": 1}})
    assert code(unknown) == "102"
    missing = fm.api("PATCH", f"{RECORDS}/999", token=token, json={"fieldData": {}})
    assert code(missing) == "101"
    calc = fm.api(
        "PATCH",
        f"{RECORDS}/1",
        token=token,
        json={"fieldData": {"image_Full_MD5": "x"}},
    )
    assert code(calc) == "201"
    iso = fm.api(
        "PATCH",
        f"{RECORDS}/1",
        token=token,
        json={"fieldData": {"taken": "2024-01-01"}},
    )
    assert code(iso) == "500"


def test_delete_removes_the_record(fm: Contract, token: str):
    assert code(fm.api("DELETE", f"{RECORDS}/2", token=token)) == "0"
    assert code(fm.api("GET", f"{RECORDS}/2", token=token)) == "101"
    assert code(fm.api("DELETE", f"{RECORDS}/2", token=token)) == "101"


def test_edits_survive_a_restart(tmp_path: Path):
    root = build_dataset(tmp_path / "ds")
    first = make_app(root)
    with wsgi_client(first) as client:
        token = client.post(
            "/fmi/data/v1/databases/Clinic/sessions", auth=("api", "s3cret"), json={}
        ).json()["response"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        base = "/fmi/data/v1/databases/Clinic/layouts/API_Images/records"
        client.patch(
            f"{base}/1",
            headers=headers,
            json={"fieldData": {"NexusExportDate": "05/06/2025"}},
        )
        client.delete(f"{base}/2", headers=headers)
        client.post(f"{base}", headers=headers, json={"fieldData": {"image_id": "N"}})
    first.close()

    second = make_app(root)
    with wsgi_client(second) as client:
        token = client.post(
            "/fmi/data/v1/databases/Clinic/sessions", auth=("api", "s3cret"), json={}
        ).json()["response"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        records = client.get(base, headers=headers).json()["response"]["data"]
    second.close()
    by_id = {r["recordId"]: r for r in records}
    assert by_id["1"]["fieldData"]["NexusExportDate"] == "05/06/2025"
    assert by_id["1"]["modId"] == "1"
    assert "2" not in by_id
    assert by_id["12"]["fieldData"]["image_id"] == "N"
    # The source JSONL is never rewritten.
    assert "05/06/2025" not in (root / "records/API_Images.jsonl").read_text()


def test_upload_container_stores_the_file(fm: Contract, token: str):
    response = fm.api(
        "POST",
        f"{RECORDS}/4/containers/image_Full/1",
        token=token,
        files={"upload": ("scan.png", b"\x89PNG\r\n\x1a\nfake", "image/png")},
    )
    assert response.json()["response"] == {"modId": "1"}
    record = fm.api("GET", f"{RECORDS}/4", token=token).json()["response"]["data"][0]
    url = record["fieldData"]["image_Full"]
    assert url.split("?")[0].endswith(".png")
    client = fm.fresh_client()
    first = client.get(url)
    second = client.get(first.headers["Location"])
    assert second.content == b"\x89PNG\r\n\x1a\nfake"
    no_part = fm.api(
        "POST",
        f"{RECORDS}/4/containers/image_Full/1",
        token=token,
        files={"file": ("x.png", b"x", "image/png")},
    )
    assert code(no_part) == "960"
