"""The contract run's verdict: one page, printed at the end of the run and
written to FM_CONTRACT_VERDICT (default var/contract-verdict.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.target import Verdict

VERDICTS: list[Verdict] = []
DEFAULT_VERDICT = Path(__file__).resolve().parents[2] / "var" / "contract-verdict.txt"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for verdict in VERDICTS:
        if verdict.findings:
            terminalreporter.write_sep("=", "FileMaker contract verdict")
            terminalreporter.write(verdict.page())
