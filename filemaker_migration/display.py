"""One way to write dates and ids on the migration's pages and in its admin.

Django's admin writes dates in the locale's format and datetimes in another,
and UUIDs in lower case where FileMaker and the keys use upper case; people
comparing a page with FileMaker should meet one form of each.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def date_text(value: dt.date | dt.datetime | None) -> str:
    """`18 Oct 2016`, or `18 Oct 2016 14:05` (local time) for a datetime."""
    if not isinstance(value, dt.date):
        # None, or "" from a template whose row has no ledger entry.
        return str(value) if value else "—"
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return f"{value.day} {value:%b %Y %H:%M}"
    return f"{value.day} {value:%b %Y}"


def id_text(value: object) -> str:
    """A FileMaker or contact id as the keys and FileMaker show it (upper case)."""
    text = str(value or "").strip()
    return text.upper() if text else "—"
