"""Field values as FileMaker stores, renders and compares them.

Stored (in memory and SQLite) the way the dataset writes them: dates
MM/DD/YYYY, times HH:MM:SS, timestamps MM/DD/YYYY HH:MM:SS, numbers as JSON
numbers, empty as "". ``dateformats=2`` changes only the representation.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from typing import Any

from filemaker_migration.emulator.errors import DateValidation

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,3}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?\s*([AaPp][Mm])?$")


def parse_date(text: str) -> date | None:
    """Read MM/DD/YYYY (leading zeros optional) or YYYY-MM-DD."""
    text = text.strip()
    if m := _US_DATE.match(text):
        month, day, year = (int(g) for g in m.groups())
    elif m := _ISO_DATE.match(text):
        year, month, day = (int(g) for g in m.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_time(text: str) -> int | None:
    """Read HH:MM[:SS] [AM|PM] as seconds (times may exceed 24 h: durations)."""
    m = _TIME.match(text.strip())
    if not m:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2))
    seconds = int(m.group(3) or 0)
    if (meridiem := m.group(4)) is not None:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if meridiem.lower() == "pm" else 0)
    if minutes > 59 or seconds > 59:
        return None
    return hours * 3600 + minutes * 60 + seconds


def parse_timestamp(text: str) -> datetime | None:
    """Read "<date> <time>"; FileMaker rejects ISO's "T" separator on input."""
    day_part, _, time_part = text.strip().partition(" ")
    day = parse_date(day_part)
    secs = parse_time(time_part) if time_part else 0
    if day is None or secs is None or secs >= 86400:
        return None
    return datetime(
        day.year, day.month, day.day, secs // 3600, secs // 60 % 60, secs % 60
    )


def parse_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def format_date(day: date, iso: bool = False) -> str:
    return day.isoformat() if iso else day.strftime("%m/%d/%Y")


def format_time(secs: int) -> str:
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"


def format_timestamp(moment: datetime, iso: bool = False) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if iso else "%m/%d/%Y %H:%M:%S")


def to_storage(result: str, value: Any) -> Any:
    """Normalise a value sent in fieldData for a field of this result type.

    Raises:
        DateValidation: a date, time or timestamp FileMaker could not read.
    """
    if value is None or value == "":
        return ""
    if result == "number":
        number = parse_number(value)
        if number is None:
            # FileMaker keeps text typed into a number field as it is.
            return str(value)
        return int(number) if number.is_integer() and "." not in str(value) else number
    if result in ("date", "time", "timeStamp") and not isinstance(value, str):
        raise DateValidation()
    if result == "date":
        day = parse_date(value)
        if day is None:
            raise DateValidation()
        return format_date(day)
    if result == "time":
        secs = parse_time(value)
        if secs is None:
            raise DateValidation()
        return format_time(secs)
    if result == "timeStamp":
        moment = parse_timestamp(value)
        if moment is None:
            raise DateValidation()
        return format_timestamp(moment)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(result: str, stored: Any, iso: bool = False) -> Any:
    """The value as the Data API answers it (``iso`` = ``dateformats=2``)."""
    if stored == "" or not iso or not isinstance(stored, str):
        return stored
    if result == "date" and (day := parse_date(stored)) is not None:
        return format_date(day, iso=True)
    if result == "timeStamp" and (moment := parse_timestamp(stored)) is not None:
        return format_timestamp(moment, iso=True)
    return stored


def comparable(result: str, value: Any) -> Any:
    """A typed key for sorting and find comparisons; None when empty/unreadable."""
    if value == "" or value is None:
        return None
    if result == "number":
        return parse_number(value)
    if isinstance(value, str):
        if result == "date":
            return parse_date(value)
        if result == "time":
            return parse_time(value)
        if result == "timeStamp":
            return parse_timestamp(value)
        return value.casefold()
    return str(value).casefold()
