"""A contract check's session over raw HTTP, and what its answers mean."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import httpx

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import is_streamable
from tests.contract.target import Target
from tests.contract.target import as_dict

COOKIE = "X-FMS-Session-Key"
PAGES, PAGE = 4, 50  # records scanned: at most 200
PARALLEL = 4


class Session:
    """One Data API session over raw HTTP, to see exactly what is answered."""

    def __init__(self, target: Target) -> None:
        self.t = target
        self.http = target.http()
        answer = self.http.post(
            target.path("/sessions"), auth=(target.account, target.password), json={}
        )
        if answer.status_code != 200:
            raise AssertionError(f"login answered HTTP {answer.status_code}")
        self.token: str = answer.json()["response"]["token"]

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def bearer_for(self, url: str) -> dict[str, str]:
        """The token for a container URL on the Data API's own host; nothing
        for another host (the token never goes there)."""
        return self.bearer if _origin(self.t.url) == _origin(url) else {}

    def api(self, method: str, rest: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method, self.t.path(rest), headers=self.bearer, **kwargs
        )

    def layout(self, rest: str = "") -> str:
        return f"/layouts/{self.t.layout}{rest}"

    def records(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in range(PAGES):
            params = {"_offset": page * PAGE + 1, "_limit": PAGE, "portal": "[]"}
            data = as_dict(self.api("GET", self.layout("/records"), params=params))
            rows = (data.get("response") or {}).get("data") or []
            found += rows
            if len(rows) < PAGE:
                break
        return found

    def fresh_url(self, record_id: str, field: str) -> str:
        answer = self.api("GET", self.layout(f"/records/{record_id}"))
        return str(answer.json()["response"]["data"][0]["fieldData"].get(field, ""))

    def close(self) -> None:
        self.http.delete(self.t.path(f"/sessions/{self.token}"))
        self.http.close()


def _origin(url: str) -> tuple[str, str, int]:
    parsed = httpx.URL(url)
    port = parsed.port or {"https": 443, "http": 80}.get(parsed.scheme, 0)
    return parsed.scheme, parsed.host.lower(), port


def client_of(target: Target, **kwargs: Any) -> DataAPIClient:
    return DataAPIClient(
        target.url,
        target.database,
        target.account,
        target.password,
        ca_bundle=target.ca_bundle,
        retry_wait_initial=0.2,
        **kwargs,
    )


def first_container(t: Target, s: Session) -> tuple[str, str] | None:
    for raw in s.records():
        for name in t.fields.containers:
            value = raw.get("fieldData", {}).get(name, "")
            if isinstance(value, str) and is_streamable(value):
                return str(raw["recordId"]), name
    return None


def session_cookie(answer: httpx.Response) -> SimpleCookie | None:
    for header in answer.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie(header)
        if COOKIE in jar:
            return jar
    return None


def opens(answer: httpx.Response) -> bool:
    """The first request let through: 200, or a redirect with the cookie."""
    return answer.status_code == 200 or (
        answer.is_redirect and session_cookie(answer) is not None
    )


def describe(answer: httpx.Response) -> str:
    if answer.status_code == 200:
        kind = answer.headers.get("content-type", "untyped").split(";")[0]
        return f"200 ({kind})"
    if answer.is_redirect:
        cookie = "with" if session_cookie(answer) is not None else "WITHOUT"
        return f"{answer.status_code} {cookie} the session cookie"
    return str(answer.status_code)


def handled(answer: httpx.Response) -> bool:
    """An answer for a URL the client copes with (works, or re-read)."""
    return answer.status_code in (200, 401, 403, 404) or answer.is_redirect


def get(t: Target, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    with t.http() as http:
        return http.get(url, headers=headers or {})
