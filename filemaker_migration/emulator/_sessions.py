"""The emulator's Data API sessions: login, logout and token checks.

Tokens slide an idle expiry (``token_idle_seconds``) and may be capped
(``max_sessions``) or dropped wholesale (``invalidate_sessions_after_calls``);
the knobs are read on every call, from the backend's current ``FaultConfig``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from filemaker_migration.dataset import Dataset
from filemaker_migration.emulator.errors import DatabaseMissing
from filemaker_migration.emulator.errors import InvalidAccount
from filemaker_migration.emulator.errors import InvalidToken
from filemaker_migration.emulator.errors import MissingAuthorization
from filemaker_migration.emulator.errors import TooManySessions
from filemaker_migration.emulator.faults import FaultConfig


@dataclass
class Session:
    database: str
    """The database name as spelled at login; another spelling answers 952."""

    last_used: float


class Sessions:
    """The live session tokens of one emulated database (thread-safe)."""

    def __init__(
        self,
        dataset: Dataset,
        faults: Callable[[], FaultConfig],
        clock: Callable[[], float],
    ) -> None:
        self._dataset = dataset
        self._faults = faults
        self._clock = clock
        self._lock = threading.Lock()  # held only for dict operations
        self._sessions: dict[str, Session] = {}
        self._calls_since_reset = 0

    def check_database(self, database: str) -> None:
        # FileMaker file names are case-insensitive; tokens are not (Session).
        if database.casefold() != self._dataset.database.casefold():
            raise DatabaseMissing()

    def login(self, database: str, authorization: str | None) -> str:
        self.check_database(database)
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() != "basic" or not credentials:
            raise MissingAuthorization()
        try:
            account, _, password = (
                base64.b64decode(credentials, validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidAccount() from exc
        accounts = {k.casefold(): v for k, v in self._dataset.accounts.items()}
        expected = accounts.get(account.casefold())
        if expected is None or not hmac.compare_digest(
            expected.encode(), password.encode()
        ):
            raise InvalidAccount()
        faults = self._faults()
        with self._lock:
            now = self._clock()
            idle = faults.token_idle_seconds
            for token in [
                t for t, s in self._sessions.items() if now - s.last_used > idle
            ]:
                del self._sessions[token]
            # UNCONFIRMED: FileMaker documents 956 but no number or HTTP status.
            if faults.max_sessions and len(self._sessions) >= faults.max_sessions:
                raise TooManySessions()
            token = secrets.token_hex(26)
            self._sessions[token] = Session(database, now)
        return token

    def logout(self, database: str, token: str) -> None:
        self.check_database(database)
        with self._lock:
            if self._sessions.pop(token, None) is None:
                raise InvalidToken()

    def authenticate(self, database: str | None, authorization: str | None) -> None:
        """Check the Bearer token and slide its idle expiry.

        Raises:
            MissingAuthorization: no Bearer token at all (code 10).
            InvalidToken: unknown, logged out, expired or dropped by the
                invalidate_sessions_after_calls knob (code 952).
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MissingAuthorization()
        faults = self._faults()
        with self._lock:
            limit = faults.invalidate_sessions_after_calls
            if limit > 0:
                self._calls_since_reset += 1
                if self._calls_since_reset > limit:
                    self._sessions.clear()
                    self._calls_since_reset = 0
            session = self._sessions.get(token.strip())
            now = self._clock()
            if session is None or now - session.last_used > faults.token_idle_seconds:
                self._sessions.pop(token.strip(), None)
                raise InvalidToken()
            if database is not None and database != session.database:
                raise InvalidToken()
            session.last_used = now
