"""The server a contract run talks to, and the verdict it writes.

A real FileMaker Server (FM_CONTRACT_* settings, docs/run-book.md: "Before the real
migration") or the emulator under its strict profile. The verdict is one page
a clinic's IT person can send back: what the server did, check by check,
with no credentials, no host name and no record contents.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import httpx

from filemaker_migration.fields import ImageFields


@dataclass
class Target:
    kind: str  # "real server" or "emulator (strict profile)"
    url: str
    database: str
    account: str = field(repr=False)
    password: str = field(repr=False)
    layout: str
    verify: ssl.SSLContext | bool
    ca_bundle: str | None = None
    record_id: str = ""  # the one record the write-back check may PATCH
    fields: ImageFields = field(default_factory=ImageFields)
    wait_past_token_expiry: Callable[[], bool] | None = None
    """Make the server's tokens idle out; False when it cannot (not run)."""

    def http(self) -> httpx.Client:
        """A client with its own cookie jar, redirects not followed."""
        return httpx.Client(base_url=self.url, verify=self.verify, timeout=120)

    def path(self, rest: str = "") -> str:
        return f"/fmi/data/vLatest/databases/{self.database}{rest}"


def real_server_target() -> Target:
    """FM_CONTRACT_URL, _DATABASE, _ACCOUNT, _PASSWORD, _LAYOUT (required);
    _CA_BUNDLE, _RECORD_ID, _FIELDS (JSON, as FM_FIELDS) and
    _EXPIRY_WAIT_SECONDS (wait out a token: 930) optional."""
    env = os.environ
    ca = env.get("FM_CONTRACT_CA_BUNDLE")
    wait = float(env.get("FM_CONTRACT_EXPIRY_WAIT_SECONDS", "0") or 0)

    def wait_out() -> bool:
        if wait <= 0:
            return False
        threading.Event().wait(wait)  # a real server's own 15 minutes
        return True

    return Target(
        kind="real server",
        url=env["FM_CONTRACT_URL"].rstrip("/"),
        database=env["FM_CONTRACT_DATABASE"],
        account=env["FM_CONTRACT_ACCOUNT"],
        password=env["FM_CONTRACT_PASSWORD"],
        layout=env.get("FM_CONTRACT_LAYOUT", "API_Images"),
        verify=ssl.create_default_context(cafile=ca) if ca else True,
        ca_bundle=ca or None,
        record_id=env.get("FM_CONTRACT_RECORD_ID", ""),
        fields=ImageFields.with_overrides(
            json.loads(env.get("FM_CONTRACT_FIELDS", "{}") or "{}")
        ),
        wait_past_token_expiry=wait_out,
    )


@dataclass
class Finding:
    check: str
    result: str  # what the server did, in words (no values, no host)
    ok: bool | None  # False: the migration would break; None: not run


@dataclass
class Verdict:
    kind: str
    version: str = "?"
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding

    def page(self) -> str:
        mark = {True: "OK  ", False: "FAIL", None: "--  "}
        failing = [f for f in self.findings if f.ok is False]
        not_run = [f for f in self.findings if f.ok is None]
        lines = [
            f"FileMaker contract verdict: {self.kind}, FileMaker Server {self.version}",
            "(no credentials, host names or record contents: send this page "
            "back to the migration team)",
            "",
            *(f"{mark[f.ok]}  {f.check:<40} {f.result}" for f in self.findings),
            "",
            f"{len(self.findings) - len(failing) - len(not_run)} check(s) OK, "
            f"{len(failing)} FAILED, {len(not_run)} not run.",
            "VERDICT: "
            + (
                "the migration can run against this server."
                if not failing
                else "do NOT run the migration yet: the FAILED lines need a fix."
            ),
        ]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.page())
        return path


def verdict_path(default: Path) -> Path:
    configured = os.environ.get("FM_CONTRACT_VERDICT")
    return Path(configured) if configured else default


def as_dict(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
