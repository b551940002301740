"""What real FileMaker Servers do that the emulator's defaults leave out.

Each class here backs knobs in ``FaultConfig`` (all off by default,
``strict_profile()`` turns them on); the sources are in
docs/filemaker-integration.md.

    TokenGate       one request at a time per token (a session is
                    single-threaded: proofsh/fmdapi#18)
    TransferMeter   the licence's outbound transfer allowance, 953 beyond it
                    (Claris server help, config-fmodata-limits)
    LockTable       records open in a user's window, 301 on edit
    portal_data     every portal on the layout unless ``portal`` limits them
                    (Claris get-single-record)
    reference_value a container stored by reference (msyk/FMDataAPI#61)
    check_find_keys unknown find keys: 960 with HTTP 400 (msyk/FMDataAPI#127)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

from filemaker_migration.emulator.errors import FileMakerError
from filemaker_migration.emulator.errors import ParameterInvalid

PORTAL = "Notes"
"""The portal every layout shows when ``portal_rows`` is on."""

PORTAL_FIELD = f"{PORTAL}::text"
DEFAULT_PORTAL_LIMIT = 50  # Claris docs; some servers use the portal's rows

FIND_KEYS = frozenset(
    {
        "query", "sort", "offset", "limit", "portal", "layout.response",
        "dateformats", "script", "script.param", "script.prerequest",
        "script.prerequest.param", "script.presort", "script.presort.param",
    }
)  # fmt: skip


class RecordInUse(FileMakerError):
    """An edit of a record open in another window; nothing changed."""

    code = 301
    message = "Record is in use by another user"


class TransferLimitExceeded(FileMakerError):
    """The outbound transfer allowance is used up. HTTP status UNCONFIRMED."""

    code = 953
    message = "Exceeded limit on data the FileMaker Data API can transmit (*)"


class BadParameter(ParameterInvalid):
    """Request validation: an unknown key or a bad value (msyk/FMDataAPI#127):
    FileMaker's 960, answered with HTTP 400 where the default answers 500."""

    http_status = 400


class UnsupportedMediaType(FileMakerError):
    """A body without Content-Type (Claris error-responses: HTTP 415). The
    FileMaker code in the body is UNCONFIRMED."""

    code = 960
    message = "Unsupported media type: Content-Type must be application/json"
    http_status = 415


class Counters:
    """Named counts of what the emulator served, for tests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def bump(self, name: str, count: int = 1) -> int:
        """Add to a count; return the new total."""
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + count
            return self._counts[name]

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts.get(name, 0)


class TokenGate:
    """Serves the requests of one token one at a time; counts the queue."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._gates: dict[str, threading.Lock] = {}
        self._waiting: dict[str, int] = {}
        self.peak_per_token = 0
        """The most requests of one token in the emulator at once (served
        plus queued): what the client let pile up on one session."""
        self.tokens_seen: set[str] = set()

    @contextmanager
    def hold(self, token: str) -> Iterator[None]:
        with self._changed:
            gate = self._gates.setdefault(token, threading.Lock())
            self._waiting[token] = self._waiting.get(token, 0) + 1
            self.peak_per_token = max(self.peak_per_token, self._waiting[token])
            self.tokens_seen.add(token)
            self._changed.notify_all()
        try:
            with gate:
                yield
        finally:
            with self._changed:
                self._waiting[token] -= 1
                self._changed.notify_all()

    def wait_for(self, token: str, count: int, timeout: float = 30.0) -> bool:
        """Block until `count` requests of `token` are in (served or queued)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._waiting.get(token, 0) >= count, timeout
            )


class TransferMeter:
    """Bytes sent so far, against the knob's budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent = 0

    def add(self, count: int) -> None:
        with self._lock:
            self.sent += count

    def exhausted(self, budget: int) -> bool:
        return budget > 0 and self.sent >= budget


class LockTable:
    """Records open in a user's window: each refuses its next N edits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: dict[tuple[str, int], int] = {}
        self.refused = 0

    def refuses(self, layout: str, record_id: int, nth: int, refusals: int) -> bool:
        if nth <= 0 or record_id % nth:
            return False
        with self._lock:
            left = self._left.setdefault((layout, record_id), refusals)
            if left <= 0:
                return False
            self._left[(layout, record_id)] = left - 1
            self.refused += 1
            return True


def reference_ids(knob: str) -> frozenset[int]:
    return frozenset(int(part) for part in knob.split(",") if part.strip())


def reference_value(stored: str) -> str:
    """What the Data API shows for a container stored by reference: a path."""
    return f"filewin:/C:/Clinic/Images/{PurePosixPath(stored).name}"


def portal_selection(raw: Any) -> list[str] | None:
    """The portals asked for: None (no parameter) means every portal."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError as exc:
            raise BadParameter() from exc
    if not isinstance(raw, list):
        raise BadParameter()
    return [str(name) for name in raw]


def portal_data(
    database: str, record_id: int, rows: int, limit: int | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Notes portal of one record: (portalData, portalDataInfo)."""
    shown = min(rows, limit if limit is not None else DEFAULT_PORTAL_LIMIT)
    data = [
        {
            "recordId": str(record_id * 1000 + i),
            PORTAL_FIELD: f"note {i + 1} of record {record_id}",
            "modId": "0",
        }
        for i in range(shown)
    ]
    info = {
        "portalObjectName": PORTAL,
        "database": database,
        "table": PORTAL,
        "foundCount": rows,
        "returnedCount": shown,
    }
    return {PORTAL: data}, [info]


def portal_meta() -> dict[str, Any]:
    return {
        PORTAL: [
            {
                "name": PORTAL_FIELD,
                "type": "normal",
                "displayType": "editText",
                "result": "text",
            }
        ]
    }


def check_find_keys(body: dict[str, Any]) -> None:
    unknown = [
        key
        for key in body
        if key not in FIND_KEYS and not key.startswith(("offset.", "limit."))
    ]
    if unknown:
        raise BadParameter()
