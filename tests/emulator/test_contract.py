"""Server-independent Data API behaviour: also runs against a real FileMaker
Server when FM_CONTRACT_URL (and friends) are set (marker ``realserver``)."""

from __future__ import annotations

import re
import uuid

from tests.emulator.conftest import Contract
from tests.emulator.conftest import code


def _text_field(contract: Contract, token: str) -> str:
    meta = contract.api("GET", f"/layouts/{contract.layout}", token=token).json()
    return next(
        f["name"]
        for f in meta["response"]["fieldMetaData"]
        if f["result"] == "text" and f["type"] == "normal"
    )


def test_product_info_needs_no_auth(contract: Contract):
    response = contract.client.get("/fmi/data/vLatest/productInfo")
    assert response.status_code == 200
    info = response.json()["response"]["productInfo"]
    assert info["dateFormat"] == "MM/dd/yyyy"
    assert info["timeStampFormat"] == "MM/dd/yyyy HH:mm:ss"
    assert response.json()["messages"] == [{"code": "0", "message": "OK"}]


def test_databases_lists_the_database(contract: Contract):
    response = contract.client.get("/fmi/data/vLatest/databases")
    names = [db["name"] for db in response.json()["response"]["databases"]]
    assert contract.database in names


def test_login_returns_token_in_body_and_header(contract: Contract):
    response = contract.client.post(
        contract.path("/sessions"), auth=(contract.account, contract.password), json={}
    )
    assert response.status_code == 200
    token = response.json()["response"]["token"]
    assert re.fullmatch(r"[0-9a-f]{52}", token)
    assert response.headers["X-FM-Data-Access-Token"] == token
    assert contract.api("DELETE", f"/sessions/{token}").json()["messages"][0] == {
        "code": "0",
        "message": "OK",
    }


def test_login_with_bad_password_answers_212(contract: Contract):
    response = contract.client.post(
        contract.path("/sessions"), auth=(contract.account, "wrong"), json={}
    )
    assert response.status_code == 401
    assert code(response) == "212"
    assert response.json()["response"] == {}


def test_login_without_authorization_answers_10(contract: Contract):
    response = contract.client.post(contract.path("/sessions"), json={})
    assert response.status_code == 401
    assert code(response) == "10"


def test_unknown_token_answers_952(contract: Contract):
    response = contract.api("GET", "/layouts", token="0" * 52)
    assert response.status_code == 401
    assert response.json()["messages"] == [
        {"code": "952", "message": "Invalid FileMaker Data API token (*)"}
    ]


def test_data_call_without_token_answers_401(contract: Contract):
    response = contract.api("GET", "/layouts")
    assert response.status_code == 401
    assert code(response) in {"10", "952"}


def test_logged_out_token_answers_952(contract: Contract):
    token = contract.login()
    contract.api("DELETE", f"/sessions/{token}")
    response = contract.api("GET", "/layouts", token=token)
    assert (response.status_code, code(response)) == (401, "952")


def test_validate_session_accepts_live_token(contract: Contract):
    token = contract.login()
    response = contract.client.get(
        "/fmi/data/vLatest/validateSession",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, code(response)) == (200, "0")


def test_layouts_list_and_metadata(contract: Contract):
    token = contract.login()
    layouts = contract.api("GET", "/layouts", token=token).json()["response"]["layouts"]
    assert contract.layout in [entry["name"] for entry in layouts]
    meta = contract.api("GET", f"/layouts/{contract.layout}", token=token).json()
    entry = meta["response"]["fieldMetaData"][0]
    assert {"name", "type", "displayType", "result", "global", "autoEnter"} <= set(
        entry
    )
    assert {f["result"] for f in meta["response"]["fieldMetaData"]} <= {
        "text", "number", "date", "time", "timeStamp", "container",
    }  # fmt: skip


def test_unknown_layout_answers_105(contract: Contract):
    token = contract.login()
    response = contract.api("GET", "/layouts/NoSuchLayout/records", token=token)
    assert (response.status_code, code(response)) == (500, "105")


def test_get_range_shapes_records_and_data_info(contract: Contract):
    token = contract.login()
    response = contract.api(
        "GET", f"/layouts/{contract.layout}/records", token=token, params={"_limit": 2}
    )
    body = response.json()["response"]
    assert body["dataInfo"]["returnedCount"] == len(body["data"]) <= 2
    assert body["dataInfo"]["layout"] == contract.layout
    assert set(body["dataInfo"]) == {
        "database", "layout", "table", "totalRecordCount", "foundCount",
        "returnedCount",
    }  # fmt: skip
    record = body["data"][0]
    assert isinstance(record["recordId"], str)
    assert isinstance(record["modId"], str)
    assert isinstance(record["fieldData"], dict)


def test_unknown_record_answers_101(contract: Contract):
    token = contract.login()
    response = contract.api(
        "GET", f"/layouts/{contract.layout}/records/987654321", token=token
    )
    assert (response.status_code, code(response)) == (500, "101")


def test_find_without_match_answers_401_with_http_500(contract: Contract):
    token = contract.login()
    field = _text_field(contract, token)
    response = contract.api(
        "POST",
        f"/layouts/{contract.layout}/_find",
        token=token,
        json={"query": [{field: f"=={uuid.uuid4().hex}"}]},
    )
    assert response.status_code == 500
    assert response.json()["messages"] == [
        {"code": "401", "message": "No records match the request"}
    ]
    assert response.json()["response"] == {}


def test_find_on_unknown_field_answers_102(contract: Contract):
    token = contract.login()
    response = contract.api(
        "POST",
        f"/layouts/{contract.layout}/_find",
        token=token,
        json={"query": [{"NoSuchField_xyz": "1"}]},
    )
    assert (response.status_code, code(response)) == (500, "102")


def test_options_is_not_supported(contract: Contract):
    response = contract.client.options("/fmi/data/vLatest/productInfo")
    assert response.status_code in {404, 405}
