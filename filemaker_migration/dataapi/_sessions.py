"""Data API sessions: one token each, a bounded number of requests on each.

FileMaker Server serves one session's requests one at a time ("A token equals
a session. A session is single-threaded. Requests in a single session will
just queue up.", the fmdapi maintainer in proofsh/fmdapi#18). More requests
in flight on one token only wait in the server's queue, where the wait counts
against the client's read timeout. So the pool keeps `count` sessions (each
logged in when first needed) and lets at most `per_session` requests be in
flight on each; a request takes the least busy session with room.

A session the server refuses to open (956, at its session cap) is given up
while another is open: the run goes on with the sessions it has.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager

from filemaker_migration.dataapi._errors import TooManySessionsError

logger = logging.getLogger(__name__)

# FileMaker drops a token 15 minutes after its last use; refresh a little earlier
# rather than spend a failed request finding out.
TOKEN_IDLE_REFRESH_SECONDS = 14 * 60


class Session:
    """One Data API session: its token and the requests in flight on it."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.token: str | None = None
        self.used_at = 0.0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.retired = False
        self.login_lock = threading.Lock()


class SessionPool:
    def __init__(
        self,
        count: int,
        per_session: int,
        *,
        login: Callable[[], str],
        logout: Callable[[str], None],
        clock: Callable[[], float],
    ) -> None:
        if count < 1:
            raise ValueError("sessions must be at least 1")
        if per_session < 1:
            raise ValueError("requests per session must be at least 1")
        self.per_session = per_session
        self.sessions = [Session(i) for i in range(count)]
        self.logins = 0
        self._login = login
        self._logout = logout
        self._clock = clock
        self._cond = threading.Condition()

    @property
    def peak_in_flight(self) -> int:
        """The most requests ever in flight on one session."""
        return max(s.peak_in_flight for s in self.sessions)

    @contextmanager
    def slot(self) -> Iterator[Session]:
        """A session with room for one more request, logged in and fresh."""
        while True:
            session = self._take()
            try:
                self.ensure_token(session)
            except TooManySessionsError:
                self._give_back(session)
                if not self._retire(session):
                    raise  # no other session is open: retried as transient
                continue
            except BaseException:
                self._give_back(session)
                raise
            break
        try:
            yield session
        finally:
            self._give_back(session)

    def ensure_token(self, session: Session) -> str:
        with session.login_lock:
            idle = self._clock() - session.used_at
            if session.token is None or idle > TOKEN_IDLE_REFRESH_SECONDS:
                self._new_token(session)
            assert session.token is not None
            return session.token

    def relogin(self, session: Session, stale: str) -> str:
        """A new token for `session`; only the first of many workers that met
        the same dead token logs in, the others pick up its new token."""
        with session.login_lock:
            if session.token == stale or session.token is None:
                self._new_token(session)
            assert session.token is not None
            return session.token

    def touch(self, session: Session) -> None:
        session.used_at = self._clock()

    def login_first(self) -> None:
        """Log the first session in now (a login check)."""
        with self.sessions[0].login_lock:
            self._new_token(self.sessions[0])

    def logout_all(self) -> None:
        for session in self.sessions:
            with session.login_lock:
                token, session.token = session.token, None
            if token is not None:
                self._logout(token)

    def _new_token(self, session: Session) -> None:
        session.token = self._login()
        session.used_at = self._clock()
        with self._cond:
            self.logins += 1

    def _take(self) -> Session:
        with self._cond:
            while True:
                free = [
                    s
                    for s in self.sessions
                    if not s.retired and s.in_flight < self.per_session
                ]
                if free:
                    session = min(free, key=lambda s: (s.in_flight, s.index))
                    session.in_flight += 1
                    session.peak_in_flight = max(
                        session.peak_in_flight, session.in_flight
                    )
                    return session
                self._cond.wait()

    def _give_back(self, session: Session) -> None:
        with self._cond:
            session.in_flight -= 1
            self._cond.notify_all()

    def _retire(self, session: Session) -> bool:
        """Give up a session the server refused, if another one is open."""
        with self._cond:
            if not any(
                s.token is not None and not s.retired
                for s in self.sessions
                if s is not session
            ):
                return False
            session.retired = True
            self._cond.notify_all()
        usable = sum(not s.retired for s in self.sessions)
        logger.warning(
            "FileMaker refused session %d of %d (956, at its session cap); "
            "going on with %d (lower FM_SESSIONS)",
            session.index + 1,
            len(self.sessions),
            usable,
        )
        return True
