"""A FileMaker Data API client for bulk container export (no Django imports).

One client is shared by all worker threads: a few Data API sessions (each
logged in when first needed, refreshed on 952 or before the 15-minute idle
expiry, with a bounded number of requests in flight on each: see `_sessions`)
and an adaptive limit on concurrent requests to the server. Each thread talks
over its own keep-alive TLS connection (see `_transport`); container downloads
are in `_containers`. Every read asks for no portal rows, and every byte
received is counted (`transfer`), as is every server behaviour worth a report
(`observed`).
"""

from __future__ import annotations

import json
import logging
from typing import IO
from typing import Any

from filemaker_migration.dataapi._base import Connection
from filemaker_migration.dataapi._containers import download_once
from filemaker_migration.dataapi._containers import first_hop
from filemaker_migration.dataapi._containers import measure_once
from filemaker_migration.dataapi._containers import origin_of
from filemaker_migration.dataapi._errors import ContainerStoredByReferenceError
from filemaker_migration.dataapi._errors import ContainerUnauthorizedError
from filemaker_migration.dataapi._errors import NoRecordsMatchError
from filemaker_migration.dataapi._types import ContainerDownload
from filemaker_migration.dataapi._types import FieldMeta
from filemaker_migration.dataapi._types import Observations
from filemaker_migration.dataapi._types import Page
from filemaker_migration.dataapi._types import Record
from filemaker_migration.dataapi._types import is_streamable
from filemaker_migration.dataapi._types import page_of
from filemaker_migration.dataapi._types import record_of
from filemaker_migration.dataapi._types import reference_kind

logger = logging.getLogger(__name__)

# Times a record is read again for a fresh URL when its streaming URL is
# stale or refused, before the field fails (and the next run retries it).
URL_REREADS = 2
# Further re-reads for a URL refused only after its download had to wait for
# a retry (a busy server's back-off, a proxy's page): it aged while it
# waited, it did not arrive stale, so these do not use up URL_REREADS.
AGED_REREADS = 4


class DataAPIClient(Connection):
    """The Data API calls the migration makes, and container downloads."""

    def product_info(self) -> dict[str, Any]:
        path = f"/fmi/data/{self.api_version}/productInfo"
        info: dict[str, Any] = self._call("GET", path, authenticated=False)[
            "productInfo"
        ]
        return info

    def layout_names(self) -> list[str]:
        names: list[str] = []

        def walk(entries: list[dict[str, Any]]) -> None:
            for entry in entries:
                if entry.get("isFolder"):
                    walk(entry.get("folderLayoutNames", []))
                else:
                    names.append(entry["name"])

        walk(self._call("GET", self._db_path("layouts"))["layouts"])
        return names

    def layout_fields(self, layout: str) -> dict[str, FieldMeta]:
        body = self._call("GET", self._layout_path(layout))
        self.layout_portals = sorted(body.get("portalMetaData") or {})
        return {
            f["name"]: FieldMeta(
                name=f["name"], result=f.get("result", "text"), type=f.get("type", "")
            )
            for f in body.get("fieldMetaData", [])
        }

    def get_record(self, layout: str, record_id: str) -> Record:
        path = self._layout_path(layout, f"records/{record_id}")
        body = self._read("GET", path, params={})
        return record_of(body["data"][0])

    def get_records(
        self,
        layout: str,
        *,
        offset: int = 1,
        limit: int = 100,
        sort: list[dict[str, str]] | None = None,
    ) -> Page:
        params: dict[str, Any] = {"_offset": offset, "_limit": limit}
        if sort:
            params["_sort"] = json.dumps(sort)
        body = self._read("GET", self._layout_path(layout, "records"), params=params)
        return page_of(body)

    def find(
        self,
        layout: str,
        query: list[dict[str, str]],
        *,
        sort: list[dict[str, str]] | None = None,
        offset: int = 1,
        limit: int = 100,
    ) -> Page:
        """Perform a find; no match is an empty page, not an error."""
        payload: dict[str, Any] = {
            "query": query,
            "offset": str(offset),
            "limit": str(limit),
        }
        if sort:
            payload["sort"] = sort
        try:
            body = self._read("POST", self._layout_path(layout, "_find"), json=payload)
        except NoRecordsMatchError:
            return Page(records=[], found_count=0, total_count=0)
        return page_of(body)

    def edit_record(
        self,
        layout: str,
        record_id: str,
        field_data: dict[str, Any],
        *,
        mod_id: str | None = None,
    ) -> str:
        """Change fields of a record; returns the record's new modId."""
        payload: dict[str, Any] = {"fieldData": field_data}
        if mod_id is not None:
            payload["modId"] = str(mod_id)
        body = self._call(
            "PATCH", self._layout_path(layout, f"records/{record_id}"), json=payload
        )
        return str(body.get("modId", ""))

    def create_record(self, layout: str, field_data: dict[str, Any]) -> str:
        body = self._call(
            "POST", self._layout_path(layout, "records"), json={"fieldData": field_data}
        )
        return str(body["recordId"])

    # -- containers ------------------------------------------------------------

    def download_container(
        self, url: str, sink: IO[bytes], *, max_bytes: int
    ) -> ContainerDownload:
        """Stream a container into `sink`, hashing it as it arrives.

        Follows FileMaker's cookie handshake with a cookie kept for this
        download alone (see `_containers`). Transient failures are retried
        from the start; a stale or refused URL is raised for the caller to
        read the record again (`download_field` does).
        """
        return self._download(url, sink, max_bytes=max_bytes, attempts=[0])

    def _download(
        self, url: str, sink: IO[bytes], *, max_bytes: int, attempts: list[int]
    ) -> ContainerDownload:
        """`download_container`, counting its attempts in `attempts[0]`."""
        if not is_streamable(url):
            self.observed.note(Observations.BY_REFERENCE)
            raise ContainerStoredByReferenceError(
                f"the container holds a file reference ({reference_kind(url)}), "
                "not data FileMaker can send"
            )

        def download() -> ContainerDownload:
            attempts[0] += 1
            sink.seek(0)  # a retry writes the container from its start
            sink.truncate()
            return download_once(self._http, self._streaming, url, sink, max_bytes)

        return self._retried(download)

    def container_size(self, url: str) -> int:
        """A container's size in bytes, read from its answer's headers: the
        handshake without the download (for estimates)."""
        if not is_streamable(url):
            raise ContainerStoredByReferenceError(
                f"the container holds a file reference ({reference_kind(url)})"
            )
        return self._retried(lambda: measure_once(self._http, self._streaming, url))

    def stream_needs_token(self, url: str) -> bool | None:
        """Whether the streaming URL refuses a first request without the Data
        API token and takes it with (None: refused either way; the URL is on
        another host, so the token never goes there)."""
        if not is_streamable(url):
            return None
        if origin_of(url) != self._streaming.origin:
            return None

        def needs_token() -> bool | None:
            if first_hop(self._http, self._streaming, url, token=False):
                return False
            if first_hop(self._http, self._streaming, url, token=True):
                return True
            return None

        return self._retried(needs_token)

    def download_field(
        self,
        layout: str,
        record_id: str,
        field: str,
        url: str,
        sink: IO[bytes],
        *,
        max_bytes: int,
    ) -> ContainerDownload:
        """`download_container`, reading the record again for a fresh URL
        when the URL is stale or refused: up to URL_REREADS times for a URL
        refused at once, and AGED_REREADS more for one refused only after a
        retry (it aged while the download waited)."""
        stale = aged = 0
        while True:
            attempts = [0]
            try:
                return self._download(url, sink, max_bytes=max_bytes, attempts=attempts)
            except ContainerUnauthorizedError:
                if attempts[0] > 1 and aged < AGED_REREADS:
                    aged += 1
                elif stale < URL_REREADS:
                    stale += 1
                else:
                    raise
                self.observed.note(Observations.URL_REREAD)
                fresh = self.get_record(layout, record_id).field_data.get(field, "")
                if not isinstance(fresh, str) or not fresh:
                    raise
                url = fresh
