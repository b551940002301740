"""A FileMaker Data API client for bulk container export (no Django imports).

One client is shared by all worker threads: one session token (logged in once,
refreshed on 952 or before the 15-minute idle expiry) and an adaptive limit on
concurrent requests to the server. Each thread talks over its own keep-alive
TLS connection (see `_transport`); container downloads are in `_containers`.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import IO
from typing import Any
from urllib.parse import quote

import httpx
import tenacity

from filemaker_migration.dataapi._containers import download_once
from filemaker_migration.dataapi._errors import AuthenticationError
from filemaker_migration.dataapi._errors import DataAPIError
from filemaker_migration.dataapi._errors import HTTPStatusError
from filemaker_migration.dataapi._errors import InvalidTokenError
from filemaker_migration.dataapi._errors import NoRecordsMatchError
from filemaker_migration.dataapi._errors import ServerBusyError
from filemaker_migration.dataapi._errors import TooManySessionsError
from filemaker_migration.dataapi._errors import Transient
from filemaker_migration.dataapi._errors import filemaker_error
from filemaker_migration.dataapi._limiter import AdaptiveLimiter
from filemaker_migration.dataapi._transport import BUSY_STATUSES
from filemaker_migration.dataapi._transport import ThreadClients
from filemaker_migration.dataapi._transport import retry_after
from filemaker_migration.dataapi._transport import translated_transport_errors
from filemaker_migration.dataapi._types import ContainerDownload
from filemaker_migration.dataapi._types import FieldMeta
from filemaker_migration.dataapi._types import Page
from filemaker_migration.dataapi._types import Record

logger = logging.getLogger(__name__)

# FileMaker drops a token 15 minutes after its last use; refresh a little earlier
# rather than spend a failed request finding out.
TOKEN_IDLE_REFRESH_SECONDS = 14 * 60


class DataAPIClient:
    def __init__(
        self,
        url: str,
        database: str,
        account: str,
        password: str,
        *,
        ca_bundle: str | None = None,
        api_version: str = "vLatest",
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_attempts: int = 5,
        max_concurrency: int = 16,
        retry_wait_initial: float = 0.5,
        retry_wait_max: float = 20.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url.startswith("https://") and transport is None:
            # The Data API is only published over HTTPS; a plain-http URL means a
            # misconfiguration that would send the password in the clear.
            raise ValueError(f"FileMaker URL must start with https:// (got {url!r})")
        self.base_url = url.rstrip("/")
        self.database = database
        self._account = account
        self._password = password
        self.api_version = api_version
        self.max_attempts = max_attempts
        self._retry_wait = tenacity.wait_exponential_jitter(
            multiplier=retry_wait_initial, max=retry_wait_max, jitter=retry_wait_initial
        )
        self.limiter = AdaptiveLimiter(max_concurrency)
        self._clock = clock
        self._token: str | None = None
        self._token_used_at = 0.0
        self._login_lock = threading.Lock()
        self.logins = 0

        # One TLS context for every connection: the CA bundle is read once.
        ssl_context = (
            ssl.create_default_context(cafile=ca_bundle)
            if ca_bundle
            else httpx.create_ssl_context()
        )
        timeout = httpx.Timeout(
            connect=connect_timeout,
            read=read_timeout,
            write=read_timeout,
            pool=read_timeout,
        )
        self._connections = ThreadClients(ssl_context, transport, timeout)

    @property
    def _http(self) -> httpx.Client:
        """This thread's HTTP client (see `ThreadClients.current`)."""
        return self._connections.current()

    # -- session ---------------------------------------------------------------

    def __enter__(self) -> DataAPIClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Log out (best effort) and close every thread's connection."""
        try:
            self.logout()
        finally:
            self._connections.close_all()

    def login(self) -> None:
        with self._login_lock:
            self._login_locked()

    def _login_locked(self) -> None:
        body = self._send(
            "POST",
            self._db_path("sessions"),
            json={},
            auth=httpx.BasicAuth(self._account, self._password),
        )
        token = body.get("token")
        if not token:
            raise DataAPIError("login answered without a token")
        self._token = token
        self._token_used_at = self._clock()
        self.logins += 1
        logger.info("FileMaker login to database %s", self.database)

    def logout(self) -> None:
        token, self._token = self._token, None
        if token is None:
            return
        try:
            self._send("DELETE", self._db_path(f"sessions/{token}"))
        except DataAPIError as exc:
            # The session expires by itself within 15 minutes anyway.
            logger.warning("FileMaker logout failed: %s", type(exc).__name__)

    def _current_token(self) -> str:
        with self._login_lock:
            idle = self._clock() - self._token_used_at
            if self._token is None or idle > TOKEN_IDLE_REFRESH_SECONDS:
                self._login_locked()
            assert self._token is not None
            return self._token

    def _relogin(self, stale: str) -> None:
        with self._login_lock:
            # Many workers can meet the same dead token at once: only the first
            # logs in again, the others pick up its new token.
            if self._token == stale or self._token is None:
                self._login_locked()

    # -- Data API calls --------------------------------------------------------

    def product_info(self) -> dict[str, Any]:
        path = f"/fmi/data/{self.api_version}/productInfo"
        info: dict[str, Any] = self._call("GET", path, authenticated=False)[
            "productInfo"
        ]
        return info

    def layout_names(self) -> list[str]:
        names: list[str] = []

        def walk(entries: list[dict[str, Any]]) -> None:
            for entry in entries:
                if entry.get("isFolder"):
                    walk(entry.get("folderLayoutNames", []))
                else:
                    names.append(entry["name"])

        walk(self._call("GET", self._db_path("layouts"))["layouts"])
        return names

    def layout_fields(self, layout: str) -> dict[str, FieldMeta]:
        body = self._call("GET", self._layout_path(layout))
        return {
            f["name"]: FieldMeta(
                name=f["name"], result=f.get("result", "text"), type=f.get("type", "")
            )
            for f in body.get("fieldMetaData", [])
        }

    def get_record(self, layout: str, record_id: str) -> Record:
        body = self._call("GET", self._layout_path(layout, f"records/{record_id}"))
        return _records(body)[0]

    def get_records(
        self,
        layout: str,
        *,
        offset: int = 1,
        limit: int = 100,
        sort: list[dict[str, str]] | None = None,
    ) -> Page:
        params: dict[str, Any] = {"_offset": offset, "_limit": limit}
        if sort:
            params["_sort"] = json.dumps(sort)
        body = self._call("GET", self._layout_path(layout, "records"), params=params)
        return _page(body)

    def find(
        self,
        layout: str,
        query: list[dict[str, str]],
        *,
        sort: list[dict[str, str]] | None = None,
        offset: int = 1,
        limit: int = 100,
    ) -> Page:
        """Perform a find; no match is an empty page, not an error."""
        payload: dict[str, Any] = {
            "query": query,
            "offset": str(offset),
            "limit": str(limit),
        }
        if sort:
            payload["sort"] = sort
        try:
            body = self._call("POST", self._layout_path(layout, "_find"), json=payload)
        except NoRecordsMatchError:
            return Page(records=[], found_count=0, total_count=0)
        return _page(body)

    def edit_record(
        self,
        layout: str,
        record_id: str,
        field_data: dict[str, Any],
        *,
        mod_id: str | None = None,
    ) -> str:
        """Change fields of a record; returns the record's new modId."""
        payload: dict[str, Any] = {"fieldData": field_data}
        if mod_id is not None:
            payload["modId"] = str(mod_id)
        body = self._call(
            "PATCH", self._layout_path(layout, f"records/{record_id}"), json=payload
        )
        return str(body.get("modId", ""))

    def create_record(self, layout: str, field_data: dict[str, Any]) -> str:
        body = self._call(
            "POST", self._layout_path(layout, "records"), json={"fieldData": field_data}
        )
        return str(body["recordId"])

    # -- containers ------------------------------------------------------------

    def download_container(
        self, url: str, sink: IO[bytes], *, max_bytes: int
    ) -> ContainerDownload:
        """Stream a container into `sink`, hashing it as it arrives.

        Follows FileMaker's cookie handshake (302 + X-FMS-Session-Key) with a
        cookie kept for this download alone. Transient failures are retried
        from the start; a 401 (expired URL) is raised for the caller to read
        the record again and retry with a fresh URL.
        """
        for attempt in self._retrying():
            with attempt:
                sink.seek(0)
                sink.truncate()
                return download_once(self._http, self.limiter, url, sink, max_bytes)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- plumbing --------------------------------------------------------------

    def _db_path(self, suffix: str) -> str:
        db = quote(self.database, safe="")
        return f"/fmi/data/{self.api_version}/databases/{db}/{suffix}"

    def _layout_path(self, layout: str, suffix: str = "") -> str:
        path = self._db_path(f"layouts/{quote(layout, safe='')}")
        return f"{path}/{suffix}" if suffix else path

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_transient),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
        )

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, ServerBusyError) and exc.retry_after is not None:
            return min(exc.retry_after, 60.0)
        return self._retry_wait(retry_state)

    def _call(
        self, method: str, path: str, *, authenticated: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        """A call retried on transient errors; re-login on 952 when authenticated."""
        for attempt in self._retrying():
            with attempt:
                if not authenticated:
                    return self._send(method, path, **kwargs)
                token = self._current_token()
                try:
                    return self._send(method, path, token=token, **kwargs)
                except InvalidTokenError:
                    self._relogin(stale=token)
                    return self._send(method, path, token=self._token, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: httpx.Auth | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = self.base_url + path
        with self.limiter.slot(), translated_transport_errors(self.base_url):
            resp = self._http.request(
                method, url, headers=headers, json=json, params=params, auth=auth
            )
        if token:
            self._token_used_at = self._clock()
        return self._parse(resp)

    def _parse(self, resp: httpx.Response) -> dict[str, Any]:
        try:
            body = resp.json()
            message = body["messages"][0]
            code = int(message["code"])
        except (ValueError, KeyError, IndexError, TypeError):
            # Not FileMaker's JSON: the web server in front of it answered.
            if resp.status_code in BUSY_STATUSES or resp.status_code >= 500:
                self.limiter.on_overload()
                raise ServerBusyError(
                    f"FileMaker's web server answered HTTP {resp.status_code}",
                    http_status=resp.status_code,
                    retry_after=retry_after(resp),
                ) from None
            raise HTTPStatusError(
                f"FileMaker answered HTTP {resp.status_code} without a Data API body",
                http_status=resp.status_code,
            ) from None
        if code != 0:
            error = filemaker_error(
                code, str(message.get("message", "")), resp.status_code
            )
            if isinstance(error, TooManySessionsError):
                self.limiter.on_overload()
            if code == 10 and resp.status_code == 401:
                error = AuthenticationError(code, error.fm_message, http_status=401)
            raise error
        self.limiter.on_success()
        return body.get("response") or {}


def _is_transient(exc: BaseException) -> bool:
    # retry_if_exception_type(Transient) would do the same, but its signature
    # wants exception classes and Transient is a mixin, not one.
    return isinstance(exc, Transient)


def _record(raw: dict[str, Any]) -> Record:
    return Record(
        record_id=str(raw["recordId"]),
        mod_id=str(raw.get("modId", "")),
        field_data=raw.get("fieldData", {}),
    )


def _records(body: dict[str, Any]) -> list[Record]:
    return [_record(raw) for raw in body.get("data", [])]


def _page(body: dict[str, Any]) -> Page:
    info = body.get("dataInfo", {})
    records = _records(body)
    return Page(
        records=records,
        found_count=int(info.get("foundCount", len(records))),
        total_count=int(info.get("totalRecordCount", len(records))),
    )
