"""The contract suite against a real FileMaker Server, before the migration.

Skipped unless FM_CONTRACT_URL is set (docs/run-book.md, "Before the real migration"):

    FM_CONTRACT_URL=https://fms.clinic.example FM_CONTRACT_DATABASE=Clinic \
    FM_CONTRACT_ACCOUNT=... FM_CONTRACT_PASSWORD=... FM_CONTRACT_LAYOUT=API_Images \
    FM_CONTRACT_RECORD_ID=1234 .venv/bin/pytest -m realserver tests/contract

Read-only, except one PATCH of the export date on FM_CONTRACT_RECORD_ID,
restored after. Prints a one-page verdict and writes it to
FM_CONTRACT_VERDICT (default var/contract-verdict.txt).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.contract.checks import CHECKS
from tests.contract.checks import run_check
from tests.contract.conftest import DEFAULT_VERDICT
from tests.contract.conftest import VERDICTS
from tests.contract.target import Target
from tests.contract.target import Verdict
from tests.contract.target import real_server_target
from tests.contract.target import verdict_path

pytestmark = [
    pytest.mark.realserver,
    pytest.mark.skipif(
        not os.environ.get("FM_CONTRACT_URL"),
        reason="FM_CONTRACT_URL not set: the contract suite needs a real "
        "FileMaker Server (docs/run-book.md, Before the real migration)",
    ),
]


@pytest.fixture(scope="module")
def target() -> Target:
    return real_server_target()


@pytest.fixture(scope="module")
def verdict(target: Target) -> Iterator[Verdict]:
    found = Verdict(kind=target.kind)
    with target.http() as http:
        info = http.get("/fmi/data/vLatest/productInfo").json()
    found.version = info["response"]["productInfo"].get("version", "?")
    VERDICTS.append(found)
    yield found
    found.write(verdict_path(DEFAULT_VERDICT))


@pytest.mark.parametrize("check", list(CHECKS))
def test_real_server(target: Target, verdict: Verdict, check: str) -> None:
    finding = verdict.add(run_check(target, check))
    assert finding.ok is not False, finding.result
