"""Values the client returns, and FileMaker's value formats (no Django imports)."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from dataclasses import field
from typing import Any


@dataclass(frozen=True)
class Record:
    record_id: str
    mod_id: str
    field_data: dict[str, Any]

    def get(self, name: str, default: Any = "") -> Any:
        return self.field_data.get(name, default)


@dataclass(frozen=True)
class Page:
    records: list[Record]
    found_count: int
    total_count: int

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class FieldMeta:
    name: str
    result: str  # text, number, date, time, timeStamp, container
    type: str = "normal"


@dataclass
class ContainerDownload:
    """What was learned while streaming a container's bytes."""

    size: int
    sha256: str
    md5: str
    content_type: str
    extra: dict[str, Any] = field(default_factory=dict)


def parse_date(value: Any) -> dt.date | None:
    """A FileMaker date: MM/DD/YYYY from the Data API, YYYY-MM-DD from OData.

    Anything else, or empty, is None ("unknown date").
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def format_date(value: dt.date) -> str:
    return value.strftime("%m/%d/%Y")


def format_timestamp(value: dt.datetime) -> str:
    return value.strftime("%m/%d/%Y %H:%M:%S")


class Observations:
    """Server behaviours the client met, counted by name (thread-safe).

    The names are the constants below; `test_filemaker_image_container` and
    the contract suite report them.
    """

    STALE_URL = "stale_url_redirect"  # a redirect without the session cookie
    URL_REFUSED = "container_url_refused"  # 401/403/404 from a streaming URL
    URL_REREAD = "container_url_reread"  # a record read again for a fresh URL
    TOKEN_SENT = "stream_token_sent"  # the token on a first container request
    DIRECT_200 = "stream_direct_200"  # bytes without the cookie handshake
    BY_REFERENCE = "stored_by_reference"  # a container value that is a path
    NOT_DATA = "container_not_data"  # a 200 with a web page instead of bytes
    TRANSFER_LIMIT = "transfer_limit_953"
    RECORD_IN_USE = "record_in_use_301"
    REJECTED = "request_rejected"  # 960 / HTTP 400 / HTTP 415
    PORTALS = "portal_rows_returned"  # portal rows in an answer
    PORTAL_PARAM_REFUSED = "portal_param_refused"

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def note(self, name: str, count: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + count

    def count(self, name: str) -> int:
        with self._lock:
            return self._counts.get(name, 0)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class TransferCounter:
    """Bytes received from FileMaker: Data API answers and container bodies.

    FileMaker's licence caps the outbound transfer of the Data API and OData
    (pooled, per year; error 953 beyond it); whether container streaming
    counts is unconfirmed, so both are counted apart.
    """

    def __init__(self) -> None:
        self.api_bytes = 0
        self.container_bytes = 0
        self._lock = threading.Lock()

    def add_api(self, count: int) -> None:
        with self._lock:
            self.api_bytes += count

    def add_container(self, count: int) -> None:
        with self._lock:
            self.container_bytes += count

    @property
    def total(self) -> int:
        return self.api_bytes + self.container_bytes

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {
                "api_bytes": self.api_bytes,
                "container_bytes": self.container_bytes,
                "total_bytes": self.api_bytes + self.container_bytes,
            }


def is_streamable(value: str) -> bool:
    """Whether a container value is a URL FileMaker streams (http or https).

    A container stored by reference comes back as a file path instead
    (msyk/FMDataAPI#61: `file:`/`filewin:`/`filemac:`; fmrest-ruby refuses
    any non-http container URL).
    """
    head = value.strip()[:8].lower()
    return head.startswith(("https://", "http://"))


def reference_kind(value: str) -> str:
    """The scheme of a file reference (`filewin:`), never the path itself
    (paths may name patients)."""
    scheme, sep, _rest = value.strip().partition(":")
    if sep and scheme.isalnum() and len(scheme) <= 12:
        return scheme.lower() + ":"
    return "a path"


def record_of(raw: dict[str, Any]) -> Record:
    return Record(
        record_id=str(raw["recordId"]),
        mod_id=str(raw.get("modId", "")),
        field_data=raw.get("fieldData", {}),
    )


def page_of(body: dict[str, Any]) -> Page:
    info = body.get("dataInfo", {})
    records = [record_of(raw) for raw in body.get("data", [])]
    return Page(
        records=records,
        found_count=int(info.get("foundCount", len(records))),
        total_count=int(info.get("totalRecordCount", len(records))),
    )
