"""Contract checks of container streaming (docs/filemaker-integration.md)."""

from __future__ import annotations

import io
import threading
from collections import Counter
from urllib.parse import urljoin

import httpx

from filemaker_migration.dataapi import is_streamable
from filemaker_migration.dataapi import reference_kind
from tests.contract.session import COOKIE
from tests.contract.session import PAGE
from tests.contract.session import PAGES
from tests.contract.session import Session
from tests.contract.session import client_of
from tests.contract.session import describe
from tests.contract.session import first_container
from tests.contract.session import get
from tests.contract.session import handled
from tests.contract.session import opens
from tests.contract.session import session_cookie
from tests.contract.target import Finding
from tests.contract.target import Target
from tests.contract.target import as_dict


def container_first_request(t: Target, s: Session) -> Finding:
    name = "container: first request, token"
    found = first_container(t, s)
    if found is None:
        return Finding(name, f"no container among the first {PAGES * PAGE}", None)
    without = get(t, s.fresh_url(*found))
    url = s.fresh_url(*found)
    if not s.bearer_for(url):
        return Finding(
            name,
            f"the URL is on another host than the Data API: without the token "
            f"{describe(without)} (the token is never sent there)",
            opens(without),
        )
    with_token = get(t, url, s.bearer_for(url))
    required = not opens(without) and opens(with_token)
    return Finding(
        name,
        f"without the token {describe(without)}; with it {describe(with_token)}"
        + ("; the token is REQUIRED (the client sends it)" if required else ""),
        opens(without) or opens(with_token),
    )


def redirect_and_cookie(t: Target, s: Session) -> Finding:
    name = "container: redirect and cookie"
    found = first_container(t, s)
    if found is None:
        return Finding(name, "no container to try", None)
    notes = []
    for _attempt in range(2):  # a proxy's page once is retried, as the client does
        url = s.fresh_url(*found)
        with t.http() as http:
            first = http.get(url, headers=s.bearer_for(url))
            if first.status_code == 200:
                return Finding(name, "200 straight away (AuthenticatedStream=2)", True)
            jar = session_cookie(first)
            location = first.headers.get("location", "")
            target = urljoin(url, location or url)
            where = (
                "none (the same URL)"
                if not location
                else "the same URL"
                if target == url
                else "the same URL + &Redirect"
                if target == url + "&Redirect"
                else "another URL on the same host"
                if httpx.URL(target).host == httpx.URL(url).host
                else "ANOTHER HOST"
            )
            if jar is None:
                return Finding(name, f"{first.status_code} without a cookie", False)
            morsel = jar[COOKIE]
            attrs = [
                f"{key}={morsel[key]}" if key in ("path", "samesite") else key
                for key in ("path", "httponly", "secure", "samesite")
                if morsel[key]
            ]
            second = http.get(target, headers={"Cookie": f"{COOKIE}={morsel.value}"})
        kind = second.headers.get("content-type", "").split(";")[0]
        if second.status_code == 200 and kind == "text/html":
            notes.append("a web page first (retried)")
            continue
        length = "present" if "content-length" in second.headers else "absent"
        return Finding(
            name,
            f"{first.status_code}, Location {where}, cookie {COOKIE} "
            f"({', '.join(attrs) or 'no attributes'}); with the cookie "
            f"{second.status_code} ({kind}), Content-Length {length}"
            + (f"; {notes[0]}" if notes else ""),
            second.status_code == 200,
        )
    return Finding(name, "web pages instead of the file, twice", False)


def url_after_logout(t: Target, s: Session) -> Finding:
    name = "container URL after logout"
    found = first_container(t, s)
    if found is None:
        return Finding(name, "no container to try", None)
    other = Session(t)
    url = other.fresh_url(*found)
    other.close()
    answer = get(t, url, s.bearer_for(url))
    return Finding(name, describe(answer), handled(answer))


def url_after_token_expiry(t: Target, s: Session) -> Finding:
    name = "container URL after token expiry"
    found = first_container(t, s)
    if found is None:
        return Finding(name, "no container to try", None)
    idle = Session(t)
    url = idle.fresh_url(*found)
    if t.wait_past_token_expiry is None or not t.wait_past_token_expiry():
        idle.http.close()
        return Finding(
            name, "not run (FM_CONTRACT_EXPIRY_WAIT_SECONDS=930 waits one out)", None
        )
    expired = idle.api("GET", "/layouts")
    idle.http.close()
    code = (as_dict(expired).get("messages") or [{}])[0].get("code")
    answer = get(t, url)
    return Finding(
        name,
        f"the idle token answers {expired.status_code}/{code}; the URL "
        f"{describe(answer)}",
        handled(answer) and code == "952",
    )


def parallel_downloads(t: Target, s: Session) -> Finding:
    name = "two downloads at once, one session"
    records = [
        (str(raw["recordId"]), field)
        for raw in s.records()
        for field in t.fields.containers[:1]
        if is_streamable(str(raw.get("fieldData", {}).get(field, "")))
    ][:2]
    if len(records) < 2:
        return Finding(name, "fewer than two containers to try", None)
    sizes: list[int] = []
    with client_of(t, sessions=1) as client:
        start = threading.Barrier(2)

        def fetch(record_id: str, field: str) -> None:
            url = client.get_record(t.layout, record_id).get(field)
            start.wait()
            sink = io.BytesIO()
            client.download_field(
                t.layout, record_id, field, url, sink, max_bytes=2**31
            )
            sizes.append(len(sink.getvalue()))

        threads = [threading.Thread(target=fetch, args=r) for r in records]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return Finding(name, f"{len(sizes)} of 2 downloaded", len(sizes) == 2)


def reference_containers(t: Target, s: Session) -> Finding:
    name = "containers stored by reference"
    rows = s.records()
    kinds: Counter[str] = Counter()
    for raw in rows:
        for field in (*t.fields.containers, t.fields.thumbnail):
            value = raw.get("fieldData", {}).get(field, "")
            if isinstance(value, str) and value.strip() and not is_streamable(value):
                kinds[f"{field} ({reference_kind(value)})"] += 1
    if not kinds:
        return Finding(name, f"none in the first {len(rows)} record(s)", True)
    listed = ", ".join(f"{n} in {k}" for k, n in kinds.items())
    return Finding(
        name, f"{listed} of {len(rows)} (skipped as stored_by_reference)", True
    )


def md5_field(t: Target, s: Session) -> Finding:
    name = "FileMaker's MD5 against the bytes"
    f = t.fields
    for raw in s.records():
        data = raw.get("fieldData", {})
        if f.md5 not in data:
            return Finding(name, f"no {f.md5} field on the layout", True)
        url = str(data.get(f.md5_of, ""))
        if data[f.md5] and is_streamable(url):
            with client_of(t) as client:
                sink = io.BytesIO()
                got = client.download_field(
                    t.layout, str(raw["recordId"]), f.md5_of, url, sink,
                    max_bytes=2**31,
                )  # fmt: skip
            same = got.md5 == str(data[f.md5]).strip().lower()
            return Finding(name, "equal" if same else "DIFFERENT", same)
    return Finding(name, f"no record with {f.md5} filled", None)
