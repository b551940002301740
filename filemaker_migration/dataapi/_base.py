"""The Data API client's plumbing (no Django imports): sessions, retries,
sending a call and reading FileMaker's answer. The calls themselves are
`DataAPIClient`'s (`_client`).
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from typing import Self
from typing import TypeVar
from urllib.parse import quote

import httpx
import tenacity

from filemaker_migration.dataapi._containers import Streaming
from filemaker_migration.dataapi._containers import origin_of
from filemaker_migration.dataapi._errors import AuthenticationError
from filemaker_migration.dataapi._errors import DataAPIError
from filemaker_migration.dataapi._errors import HTTPStatusError
from filemaker_migration.dataapi._errors import InvalidTokenError
from filemaker_migration.dataapi._errors import RecordInUseError
from filemaker_migration.dataapi._errors import RequestRejectedError
from filemaker_migration.dataapi._errors import ServerBusyError
from filemaker_migration.dataapi._errors import TooManySessionsError
from filemaker_migration.dataapi._errors import TransferLimitError
from filemaker_migration.dataapi._errors import Transient
from filemaker_migration.dataapi._errors import UnreachableError
from filemaker_migration.dataapi._errors import filemaker_error
from filemaker_migration.dataapi._errors import what_to_check
from filemaker_migration.dataapi._limiter import AdaptiveLimiter
from filemaker_migration.dataapi._sessions import SessionPool
from filemaker_migration.dataapi._transport import BUSY_STATUSES
from filemaker_migration.dataapi._transport import ThreadClients
from filemaker_migration.dataapi._transport import retry_after
from filemaker_migration.dataapi._transport import translated_transport_errors
from filemaker_migration.dataapi._types import Observations
from filemaker_migration.dataapi._types import TransferCounter

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Connection:
    """Sessions, retries and the sending of calls, for `DataAPIClient`."""

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
        sessions: int = 1,
        requests_per_session: int = 2,
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
        self.sessions = SessionPool(
            sessions,
            requests_per_session,
            login=self._login_request,
            logout=self._logout_request,
            clock=clock,
        )
        # Whether the server has answered once (see _is_worth_retrying).
        self.reached = False
        self.observed = Observations()
        self.transfer = TransferCounter()
        self._limit_portals = True  # every read asks for no portal rows
        self.layout_portals: list[str] = []  # of the last layout_fields() call
        self._streaming = Streaming(
            limiter=self.limiter,
            transfer=self.transfer,
            observed=self.observed,
            origin=origin_of(self.base_url),
            token_slot=self._token_slot,
        )

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Log out (best effort) and close every thread's connection."""
        try:
            self.logout()
        finally:
            self._connections.close_all()

    @property
    def logins(self) -> int:
        return self.sessions.logins

    def login(self) -> None:
        """Log the first session in now (the others log in when first used)."""
        self.sessions.login_first()

    def _login_request(self) -> str:
        body = self._send(
            "POST",
            self._db_path("sessions"),
            json={},
            auth=httpx.BasicAuth(self._account, self._password),
        )
        token = body.get("token")
        if not token:
            raise DataAPIError("login answered without a token")
        logger.info("FileMaker login to database %s", self.database)
        return str(token)

    def logout(self) -> None:
        """Log every session out (best effort)."""
        self.sessions.logout_all()

    def _logout_request(self, token: str) -> None:
        try:
            self._send("DELETE", self._db_path(f"sessions/{token}"))
        except DataAPIError as exc:
            # The session expires by itself within 15 minutes anyway.
            logger.warning("FileMaker logout failed: %s", type(exc).__name__)

    @contextmanager
    def _token_slot(self) -> Iterator[str]:
        with self.sessions.slot() as session:
            assert session.token is not None
            yield session.token

    # -- plumbing --------------------------------------------------------------

    def _db_path(self, suffix: str) -> str:
        db = quote(self.database, safe="")
        return f"/fmi/data/{self.api_version}/databases/{db}/{suffix}"

    def _layout_path(self, layout: str, suffix: str = "") -> str:
        path = self._db_path(f"layouts/{quote(layout, safe='')}")
        return f"{path}/{suffix}" if suffix else path

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(self._is_worth_retrying),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
        )

    def _retried(self, attempt: Callable[[], T]) -> T:
        """What `attempt` returns, tried again after each transient error
        (`_retrying`'s policy: the last error is raised once they run out)."""
        for retry in self._retrying():
            with retry:
                return attempt()
        raise AssertionError("unreachable")  # pragma: no cover

    def _is_worth_retrying(self, exc: BaseException) -> bool:
        # A server never reached is a setting or a firewall: said at once.
        if isinstance(exc, UnreachableError) and not self.reached:
            return False
        return _is_transient(exc)

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, ServerBusyError) and exc.retry_after is not None:
            return min(exc.retry_after, 60.0)
        return self._retry_wait(retry_state)

    def _read(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A read that asks for no portal rows: without the parameter FileMaker
        returns every portal on the layout. Should a server refuse the
        parameter (and take the same read without it), reads go on without."""
        if not self._limit_portals:
            return self._noting_portals(self._call(method, path, **kwargs))
        limited = dict(kwargs)
        if "json" in kwargs:
            limited["json"] = {**kwargs["json"], "portal": []}
        else:
            limited["params"] = {**kwargs.get("params", {}), "portal": "[]"}
        try:
            return self._noting_portals(self._call(method, path, **limited))
        except RequestRejectedError:
            body = self._call(method, path, **kwargs)  # raises if not the portal
        self._limit_portals = False
        self.observed.note(Observations.PORTAL_PARAM_REFUSED)
        logger.warning("FileMaker refused the portal parameter; reading without")
        return self._noting_portals(body)

    def _noting_portals(self, body: dict[str, Any]) -> dict[str, Any]:
        if any(raw.get("portalData") for raw in body.get("data", [])):
            self.observed.note(Observations.PORTALS)
        return body

    def _call(
        self, method: str, path: str, *, authenticated: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        """A call retried on transient errors; re-login on 952 when authenticated.

        Authenticated calls run on a session with room (`_sessions`).
        """
        if not authenticated:
            return self._retried(lambda: self._send(method, path, **kwargs))
        return self._retried(lambda: self._send_on_session(method, path, **kwargs))

    def _send_on_session(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One try of an authenticated call; a stale token (952) is replaced
        by a new login and the call sent once more."""
        with self.sessions.slot() as session:
            token = self.sessions.ensure_token(session)
            try:
                body = self._send(method, path, token=token, **kwargs)
            except InvalidTokenError:
                token = self.sessions.relogin(session, stale=token)
                body = self._send(method, path, token=token, **kwargs)
            self.sessions.touch(session)
            return body

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
        self.reached = True
        self.transfer.add_api(len(resp.content))
        return self._parse(resp)

    def _note(self, error: DataAPIError) -> None:
        for kind, name in (
            (RecordInUseError, Observations.RECORD_IN_USE),
            (TransferLimitError, Observations.TRANSFER_LIMIT),
            (RequestRejectedError, Observations.REJECTED),
        ):
            if isinstance(error, kind):
                self.observed.note(name)

    def _parse(self, resp: httpx.Response) -> dict[str, Any]:
        try:
            body = resp.json()
            message = body["messages"][0]
            code = int(message["code"])
        except (ValueError, KeyError, IndexError, TypeError):
            # Not FileMaker's JSON: the web server in front of it answered.
            if resp.status_code in (400, 415):
                self.observed.note(Observations.REJECTED)
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
            text = str(message.get("message", ""))
            if hint := what_to_check(code, resp.request.url.path):
                text = f"{text} ({hint})"
            error = filemaker_error(code, text, resp.status_code)
            if isinstance(error, TooManySessionsError):
                self.limiter.on_overload()
            self._note(error)
            if code == 10 and resp.status_code == 401:
                error = AuthenticationError(code, error.fm_message, http_status=401)
            raise error
        self.limiter.on_success()
        return body.get("response") or {}


def _is_transient(exc: BaseException) -> bool:
    # retry_if_exception_type(Transient) would do the same, but its signature
    # wants exception classes and Transient is a mixin, not one.
    return isinstance(exc, Transient)
