"""The plan's Phase 5: download one record's best container and check it.

Logs in, reads one record (a given one, or the first with any container),
downloads the container the waterfall chooses through FileMaker's cookie
redirect, checks the bytes decode as an image, and reports what it found,
with the real-server behaviours it met on the way (docs/filemaker-integration.md).
Writes nothing anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from filemaker_migration.dataapi import DataAPIClient
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.dataapi import Observations
from filemaker_migration.fields import ImageFields
from filemaker_migration.operations.records import iter_records
from filemaker_migration.pipeline import ChecksumMismatchError
from filemaker_migration.pipeline import NoUsableImageError
from filemaker_migration.pipeline import choose_container
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
    behaviours: list[tuple[str, str]]  # (behaviour, what was met)

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
    client.layout_fields(layout)  # its portals, for the report
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
        needs_token = _needs_token(client, layout, src.record_id, chosen.field)
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
            behaviours=behaviours_met(client, needs_token),
        )
    finally:
        chosen.close()


def _needs_token(
    client: DataAPIClient, layout: str, record_id: str, field: str
) -> bool | None:
    try:
        url = client.get_record(layout, record_id).field_data.get(field, "")
        return client.stream_needs_token(str(url))
    except DataAPIError:
        return None


def behaviours_met(
    client: DataAPIClient, needs_token: bool | None
) -> list[tuple[str, str]]:
    """The nine real-server behaviours, and what this probe met of each."""
    seen = client.observed

    def met(name: str, detail: str = "") -> str:
        count = seen.count(name)
        return f"met ({count}x){detail}" if count else "not met"

    token = {True: "required", False: "not required", None: "could not tell"}
    portals = ", ".join(client.layout_portals)
    sessions = client.sessions
    return [
        (
            "stale container URL (redirect without cookie, or 401/403/404)",
            met(Observations.STALE_URL)
            + f"; refused {seen.count(Observations.URL_REFUSED)}x, record re-read "
            f"{seen.count(Observations.URL_REREAD)}x",
        ),
        ("token on the streaming URL", token[needs_token]),
        ("container stored by reference", met(Observations.BY_REFERENCE)),
        (
            "one request at a time per session",
            f"not observable in one download (run the contract suite); "
            f"{len(sessions.sessions)} session(s), at most "
            f"{sessions.per_session} request(s) in flight on each",
        ),
        ("transfer limit (953)", met(Observations.TRANSFER_LIMIT)),
        ("record in use (301)", "not observable: the probe writes nothing"),
        ("a web page instead of the file", met(Observations.NOT_DATA)),
        (
            "portals on the layout",
            f"yes ({portals}); reads ask for none" if portals else "none",
        ),
        ("request validation (960, HTTP 400/415)", met(Observations.REJECTED)),
    ]
