"""The contract checks: what a FileMaker Server does where the migration
depends on it (issue #14, docs/filemaker-integration.md).

Strictly read-only, except one PATCH of the export date on the record named
by FM_CONTRACT_RECORD_ID, restored right after. Each check returns a Finding:
what the server did in words (statuses, header names, counts: never values,
credentials or host names), and whether the migration copes (False: it
would break). Raw HTTP where the exact answer matters; the migration's own
client (DataAPIClient) where the question is whether the client copes.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from filemaker_migration.dataapi import format_date
from filemaker_migration.dataapi import format_timestamp
from tests.contract.session import PARALLEL
from tests.contract.session import Session
from tests.contract.session import client_of
from tests.contract.session import first_container
from tests.contract.streaming_checks import container_first_request
from tests.contract.streaming_checks import md5_field
from tests.contract.streaming_checks import parallel_downloads
from tests.contract.streaming_checks import redirect_and_cookie
from tests.contract.streaming_checks import reference_containers
from tests.contract.streaming_checks import url_after_logout
from tests.contract.streaming_checks import url_after_token_expiry
from tests.contract.target import Finding
from tests.contract.target import Target
from tests.contract.target import as_dict


def write_back(t: Target, s: Session) -> Finding:
    name = "the write-back (one PATCH, restored)"
    if not t.record_id:
        return Finding(name, "not run (set FM_CONTRACT_RECORD_ID)", None)
    field = t.fields.export_date
    meta = s.api("GET", s.layout()).json()["response"]["fieldMetaData"]
    result = next((m["result"] for m in meta if m["name"] == field), None)
    if result is None:
        return Finding(name, f"{field} is not on the layout", False)
    now = dt.datetime.now().replace(microsecond=0)
    value = {"timeStamp": format_timestamp(now), "date": format_date(now.date())}.get(
        result, now.isoformat()
    )
    with client_of(t) as client:
        before = client.get_record(t.layout, t.record_id)
        original = before.get(field, "")
        mod_id = client.edit_record(t.layout, t.record_id, {field: value})
        try:
            after = client.get_record(t.layout, t.record_id)
        finally:
            client.edit_record(t.layout, t.record_id, {field: original})
    next_mod = mod_id == str(int(before.mod_id) + 1)
    kept = after.get(field) == value
    return Finding(
        name,
        f"{field} is a {result} field; modId {'+1' if next_mod else 'MOVED ODDLY'}; "
        f"value read back {'as written' if kept else 'DIFFERENTLY'}; restored",
        next_mod and kept,
    )


def paging_at_its_end(t: Target, s: Session) -> Finding:
    name = "the paging query at its end"
    f = t.fields
    sort = [{"fieldName": f.recid, "sortOrder": "descend"}]
    last = s.api(
        "POST", s.layout("/_find"),
        json={"query": [{f.recid: ">0"}], "sort": sort, "limit": "1", "portal": []},
    )  # fmt: skip
    rows = (as_dict(last).get("response") or {}).get("data") or []
    if not rows:
        return Finding(name, f"no record with a {f.recid}", None)
    top = rows[0]["fieldData"][f.recid]
    query = {f.export_date: "=", f.recid: f">{top}"}
    end = s.api(
        "POST", s.layout("/_find"),
        json={"query": [query], "sort": [{"fieldName": f.recid,
              "sortOrder": "ascend"}], "limit": "100", "portal": []},
    )  # fmt: skip
    code = (as_dict(end).get("messages") or [{}])[0].get("code")
    return Finding(
        name,
        f"past the last {f.recid}: HTTP {end.status_code}, code {code}"
        + (" (no records match: the end)" if code == "401" else ""),
        code == "401",
    )


def one_token_against_sessions(t: Target, s: Session) -> Finding:
    name = f"{PARALLEL} calls at once: 1 token vs {PARALLEL} sessions"
    found = first_container(t, s)
    if found is None:
        return Finding(name, "no record to read", None)
    path = s.layout(f"/records/{found[0]}")

    def timed(sessions: list[Session]) -> float:
        start = threading.Barrier(PARALLEL)

        def call(session: Session) -> None:
            start.wait()
            session.api("GET", path, params={"portal": "[]"})

        threads = [
            threading.Thread(target=call, args=(sessions[i % len(sessions)],))
            for i in range(PARALLEL)
        ]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - began

    one = timed([s])
    others = [Session(t) for _ in range(PARALLEL)]
    try:
        many = timed(others)
    finally:
        for other in others:
            other.close()
    queued = one > 1.8 * many
    return Finding(
        name,
        f"{one * 1000:.0f} ms on one token, {many * 1000:.0f} ms on {PARALLEL} "
        "sessions" + ("; one token's calls queue: FM_SESSIONS helps" if queued else ""),
        True,
    )


def portals(t: Target, s: Session) -> Finding:
    name = "portals, and portal=[]"
    found = first_container(t, s)
    if found is None:
        return Finding(name, "no record to read", None)
    path = s.layout(f"/records/{found[0]}")
    every = as_dict(s.api("GET", path))
    data = ((every.get("response") or {}).get("data") or [{}])[0]
    rows = sum(len(v) for v in (data.get("portalData") or {}).values())
    none = s.api("GET", path, params={"portal": "[]"})
    limited = ((as_dict(none).get("response") or {}).get("data") or [{}])[0]
    return Finding(
        name,
        f"without the parameter {len(data.get('portalData') or {})} portal(s), "
        f"{rows} row(s); portal=[] answers {none.status_code} with "
        f"{len(limited.get('portalData') or {})} portal(s)",
        True,
    )


def request_validation(t: Target, s: Session) -> Finding:
    name = "request validation"
    unknown = s.api(
        "POST", s.layout("/_find"), json={"query": [{t.fields.recid: ">0"}], "x": "1"}
    )
    bare = s.api(
        "POST",
        s.layout("/_find"),
        content=b'{"query": [{"' + t.fields.recid.encode() + b'": ">0"}]}',
    )
    code = (as_dict(unknown).get("messages") or [{}])[0].get("code")
    return Finding(
        name,
        f"an unknown find key: HTTP {unknown.status_code}, code {code}; "
        f"no Content-Type: HTTP {bare.status_code}",
        True,
    )


CHECKS: dict[str, Callable[[Target, Session], Finding]] = {
    "container_first_request": container_first_request,
    "redirect_and_cookie": redirect_and_cookie,
    "url_after_logout": url_after_logout,
    "parallel_downloads": parallel_downloads,
    "reference_containers": reference_containers,
    "md5_field": md5_field,
    "write_back": write_back,
    "paging_at_its_end": paging_at_its_end,
    "one_token_against_sessions": one_token_against_sessions,
    "portals": portals,
    "request_validation": request_validation,
    # Last: waiting out a token's idle time ends every session.
    "url_after_token_expiry": url_after_token_expiry,
}


def run_check(target: Target, name: str) -> Finding:
    """One check on a session of its own."""
    session = Session(target)
    try:
        return CHECKS[name](target, session)
    finally:
        session.close()  # an expired session answers 952: already gone
