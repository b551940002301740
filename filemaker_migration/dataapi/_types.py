"""Values the client returns, and FileMaker's value formats (no Django imports)."""

from __future__ import annotations

import datetime as dt
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
