"""_find: operators, AND/OR/omit, typed comparisons, paging and errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.conftest import Contract
from tests.emulator.conftest import code

FIND = "/layouts/API_Images/_find"


def _found(fm: Contract, token: str, body: dict[str, Any]) -> list[str]:
    response = fm.api("POST", FIND, token=token, json=body)
    assert response.status_code == 200, response.text
    return [r["fieldData"]["image_id"] for r in response.json()["response"]["data"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ([{"caption": "john"}], ["IMG-003", "IMG-010", "IMG-011"]),
        ([{"caption": "MOLAR"}], ["IMG-001", "IMG-002"]),
        ([{"caption": "olar"}], None),
        ([{"caption": "=john"}], ["IMG-010"]),
        ([{"caption": "==johnny"}], ["IMG-011"]),
        ([{"caption": "==john"}], None),
        ([{"caption": "==John*"}], ["IMG-003", "IMG-010", "IMG-011"]),
        ([{"caption": "*bridge"}], ["IMG-003"]),
        ([{"caption": '"molar xray"'}], ["IMG-001"]),
        ([{"caption": "="}], ["IMG-004"]),
        ([{"NexusExportDate": "="}], ["IMG-001", "IMG-003", "IMG-004", "IMG-010",
                                      "IMG-011"]),
        ([{"NexusExportDate": "*"}], ["IMG-002"]),
        ([{"image_id": "==IMG-002"}], ["IMG-002"]),
        ([{"patient_id": "10"}], ["IMG-001", "IMG-002"]),
        ([{"patient_id": 10}], ["IMG-001", "IMG-002"]),
        ([{"patient_id": ">10"}], ["IMG-003", "IMG-004", "IMG-011"]),
        ([{"patient_id": "<=10"}], ["IMG-001", "IMG-002", "IMG-010"]),
        ([{"patient_id": "3...11"}], ["IMG-001", "IMG-002", "IMG-003"]),
        ([{"patient_id": "3..11"}], ["IMG-001", "IMG-002", "IMG-003"]),
        ([{"taken": "01/01/2024...02/29/2024"}], ["IMG-001", "IMG-002"]),
        ([{"taken": "<1/1/2024"}], ["IMG-003"]),
        ([{"taken": ">=03/05/2024"}], ["IMG-010", "IMG-004"]),
        ([{"taken": "12/31/2023"}], ["IMG-003"]),
        ([{"taken": "2024"}], ["IMG-001", "IMG-002", "IMG-004", "IMG-010"]),
        ([{"updated": "01/02/2024"}], ["IMG-003"]),
        ([{"updated": "01/15/2024 09:30:00"}], ["IMG-001"]),
        ([{"updated": "01/01/2024...01/15/2024"}], ["IMG-001", "IMG-003"]),
    ],
)  # fmt: skip
def test_find_operators(fm: Contract, token: str, query, expected):
    body = {"query": query, "sort": [{"fieldName": "taken", "sortOrder": "ascend"}]}
    if expected is None:
        response = fm.api("POST", FIND, token=token, json=body)
        assert (response.status_code, code(response)) == (500, "401")
        return
    assert sorted(_found(fm, token, body)) == sorted(expected)


def test_find_and_within_request_or_across_requests(fm: Contract, token: str):
    both = {"query": [{"patient_id": "10", "caption": "left"}]}
    assert _found(fm, token, both) == ["IMG-001"]
    either = {"query": [{"caption": "left"}, {"patient_id": "11"}]}
    assert _found(fm, token, either) == ["IMG-001", "IMG-003"]


def test_find_omit_requests_apply_in_order(fm: Contract, token: str):
    body = {"query": [{"caption": "john"}, {"caption": "doe", "omit": "true"}]}
    assert _found(fm, token, body) == ["IMG-003", "IMG-011"]
    # A later find request adds back what an earlier omit removed.
    body["query"].append({"patient_id": "2"})
    assert _found(fm, token, body) == ["IMG-003", "IMG-010", "IMG-011"]


def test_find_starting_with_omit_starts_from_all_records(fm: Contract, token: str):
    body = {"query": [{"NexusExportDate": "=", "omit": "true"}]}
    assert _found(fm, token, body) == ["IMG-002"]


def test_find_sort_offset_limit_as_strings_or_numbers(fm: Contract, token: str):
    body = {
        "query": [{"image_id": "IMG*"}],
        "sort": [{"fieldName": "patient_id", "sortOrder": "descend"}],
        "offset": "2",
        "limit": 2,
    }
    response = fm.api("POST", FIND, token=token, json=body)
    data = response.json()["response"]
    assert [r["recordId"] for r in data["data"]] == ["4", "3"]
    assert data["dataInfo"]["foundCount"] == 6
    assert data["dataInfo"]["returnedCount"] == 2
    assert data["dataInfo"]["totalRecordCount"] == 6


def test_find_page_past_found_set_answers_401(fm: Contract, token: str):
    response = fm.api(
        "POST", FIND, token=token, json={"query": [{"caption": "molar"}], "offset": 3}
    )
    assert (response.status_code, code(response)) == (500, "401")


@pytest.mark.parametrize("body", [{"query": []}, {}, {"query": [{"caption": ""}]}])
def test_find_without_criteria_answers_400(fm: Contract, token: str, body):
    response = fm.api("POST", FIND, token=token, json=body)
    assert (response.status_code, code(response)) == (500, "400")


def test_find_on_unknown_layout_answers_105(fm: Contract, token: str):
    response = fm.api(
        "POST", "/layouts/Nope/_find", token=token, json={"query": [{"a": "1"}]}
    )
    assert code(response) == "105"


def test_find_with_bad_json_body_answers_error(fm: Contract, token: str):
    response = fm.api(
        "POST",
        FIND,
        token=token,
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert code(response) == "1710"
