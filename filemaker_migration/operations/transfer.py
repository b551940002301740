"""How much the import will make FileMaker send: its estimate, before the run.

FileMaker's licence caps the Data API's outbound transfer (pooled with OData,
per year; Claris server help, config-fmodata-limits; one published figure is
24 GB per user per year) and answers error 953 when it is used up. Whether
container downloads count is unconfirmed, so the estimate counts them, and
the advice is to compare it with the Admin Console's counters before the run.

The container that will be downloaded is a record's first filled container
in waterfall order. Its size comes from the layout where the layout can tell
(the `filesize` field describes the main container), else from a sample of
containers measured through the handshake (their headers, not their bytes).
The Data API's own answers are estimated from what inspect itself received
per record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from filemaker_migration.dataapi import ContainerUnauthorizedError
from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.dataapi import Record
from filemaker_migration.dataapi import is_streamable
from filemaker_migration.fields import ImageFields

SAMPLE = 12  # containers measured when the layout cannot tell their size
# Data API answers per record in a run, relative to one page read of it: the
# find that pages it, a re-read now and then, the write-back's small answer.
API_FACTOR = 1.5

_SIZE = re.compile(r"^\s*(\d*\.?\d+)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}

ADVICE = (
    "Before the run, compare this with the Admin Console's Data API/OData "
    "transfer counters (annual limit, data transmitted by this host, reset "
    "date): when the allowance is used up FileMaker answers error 953 and the "
    "import stops (whether container downloads count is unconfirmed)."
)


def parse_size(value: Any) -> int | None:
    """FileMaker's size text (".03 MB", "1.2 MB", "640 KB") in bytes."""
    match = _SIZE.match(str(value))
    if not match:
        return None
    unit = (match.group(2) or "b").lower()
    return round(float(match.group(1)) * _UNITS[unit])


@dataclass
class TransferEstimate:
    records: int = 0  # unexported records with a container to download
    from_layout: int = 0  # of them, sized by the layout's size field
    sampled: int = 0  # containers measured
    container_bytes: int = 0
    api_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return self.container_bytes + self.api_bytes

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "total_bytes": self.total_bytes}

    def describe(self) -> str:
        how = []
        if self.from_layout:
            how.append(f"{self.from_layout:,} sized by the layout")
        if self.sampled:
            how.append(f"the rest from {self.sampled} measured")
        return (
            f"estimated transfer for the import: {self.total_bytes / 1e9:,.2f} GB "
            f"({self.records:,} container(s) to download"
            f"{'; ' + ', '.join(how) if how else ''}; Data API answers "
            f"{self.api_bytes / 1e6:,.1f} MB)\n  {ADVICE}"
        )


class Estimator:
    """Fed every record by inspect; estimates once all are seen."""

    def __init__(self, fields: ImageFields, layout_fields: set[str]) -> None:
        self.fields = fields
        self.sized = fields.filesize in layout_fields
        self.known_bytes = 0
        # (record id, field, URL) of containers the layout cannot size
        self.unknown: list[tuple[str, str, str]] = []
        self.estimate = TransferEstimate()

    def add(self, record: Record) -> None:
        data = record.field_data
        if str(data.get(self.fields.export_date, "")).strip():
            return  # exported already: the import will not download it
        filled = [
            (name, str(data.get(name, "")).strip())
            for name in self.fields.containers
            if str(data.get(name, "")).strip()
        ]
        if not filled or not is_streamable(filled[0][1]):
            return  # nothing to download, or stored by reference
        self.estimate.records += 1
        name, url = filled[0]
        size = parse_size(data.get(self.fields.filesize, "")) if self.sized else None
        if name == self.fields.containers[0] and size is not None:
            self.estimate.from_layout += 1
            self.known_bytes += size
        else:
            self.unknown.append((record.record_id, name, url))

    def finish(
        self, client: DataAPIClient, layout: str, records_read: int
    ) -> TransferEstimate:
        estimate = self.estimate
        if self.unknown:
            step = max(1, len(self.unknown) // SAMPLE)
            sizes = []
            for record_id, name, url in self.unknown[::step][:SAMPLE]:
                try:
                    sizes.append(_measure(client, layout, record_id, name, url))
                except DataAPIError:
                    continue  # the import will say what this container is
            estimate.sampled = len(sizes)
            mean = sum(sizes) / len(sizes) if sizes else 0
            estimate.container_bytes = self.known_bytes + round(
                mean * len(self.unknown)
            )
        else:
            estimate.container_bytes = self.known_bytes
        per_record = client.transfer.api_bytes / records_read if records_read else 0
        estimate.api_bytes = round(per_record * API_FACTOR * estimate.records)
        return estimate


def _measure(
    client: DataAPIClient, layout: str, record_id: str, name: str, url: str
) -> int:
    try:
        return client.container_size(url)
    except ContainerUnauthorizedError:
        # Read a while ago: the record again, for a fresh URL.
        fresh = client.get_record(layout, record_id).field_data.get(name, "")
        return client.container_size(str(fresh))
