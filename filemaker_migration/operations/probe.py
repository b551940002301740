"""The plan's Phase 5: download one record's best container and check it.

Logs in, reads one record (a given one, or the first with any container),
downloads the container the waterfall chooses through FileMaker's cookie
redirect, checks the bytes decode as an image, and reports what it found.
Writes nothing anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.fields import ImageFields
from filemaker_migration.operations.records import iter_records
from filemaker_migration.pipeline.select import ChecksumMismatchError
from filemaker_migration.pipeline.select import NoUsableImageError
from filemaker_migration.pipeline.select import choose_container
from filemaker_migration.source import SourceRecord
from filemaker_migration.source import parse_record


class ProbeError(Exception):
    """No record to test, or the record holds no usable image."""


@dataclass(frozen=True)
class ProbeResult:
    record_id: str
    filemaker_id: str
    field: str
    size: int
    content_type: str
    extension: str
    width: int | None
    height: int | None
    sha256: str
    md5: str
    fields_tried: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def first_with_container(
    client: DataAPIClient, layout: str, fields: ImageFields
) -> SourceRecord:
    for record in iter_records(client, layout, page_size=100):
        src = parse_record(record, fields, use_thumbnail=False)
        if src.containers:
            return src
    raise ProbeError(f"no record of layout {layout!r} has any container filled")


def probe_container(
    client: DataAPIClient,
    layout: str,
    fields: ImageFields,
    *,
    record_id: str | None = None,
    max_bytes: int = 200 * 1024 * 1024,
) -> ProbeResult:
    if record_id is None:
        src = first_with_container(client, layout, fields)
    else:
        record = client.get_record(layout, record_id)
        src = parse_record(record, fields, use_thumbnail=False)
    try:
        chosen = choose_container(
            client, layout, src, max_bytes=max_bytes, md5_of=fields.md5_of
        )
    except NoUsableImageError as exc:
        raise ProbeError(
            f"record {src.record_id}: {exc.reason}: {exc.detail} (tried {exc.tried})"
        ) from exc
    except ChecksumMismatchError as exc:
        raise ProbeError(f"record {src.record_id}: {exc}") from exc
    try:
        return ProbeResult(
            record_id=src.record_id,
            filemaker_id=src.filemaker_id or src.filemaker_id_raw,
            field=chosen.field,
            size=chosen.download.size,
            content_type=chosen.info.type.content_type,
            extension=chosen.info.type.extension,
            width=chosen.info.width,
            height=chosen.info.height,
            sha256=chosen.download.sha256,
            md5=chosen.download.md5,
            fields_tried=chosen.tried,
        )
    finally:
        chosen.close()
