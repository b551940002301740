"""Reading every record of a layout, read-only (no Django imports).

Offset paging is safe here because nothing changes the found set while these
operations read it (they hold no marker to set); the import itself pages by
recid for exactly that reason (see source.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import Record
from filemaker_migration.dataapi import RecordMissingError

PAGE_SIZE = 1000


def iter_records(
    client: DataAPIClient, layout: str, *, page_size: int = PAGE_SIZE
) -> Iterator[Record]:
    """Every record of `layout`, `page_size` per request, in record id order."""
    offset = 1
    while True:
        try:
            page = client.get_records(layout, offset=offset, limit=page_size)
        except RecordMissingError:  # FileMaker's answer to a range past the end
            return
        yield from page.records
        if len(page.records) < page_size:
            return
        offset += page_size
