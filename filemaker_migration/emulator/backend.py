"""The emulator's state: sessions, records and container objects.

Records live in memory as immutable ``StoredRecord``s (finds filter them in
Python: milliseconds for thousands of records) and in SQLite (``store.py``)
for durability. ``_lock`` guards the in-memory maps and is held only for dict
operations; ``_write_lock`` serialises writes including their SQLite commit.
Neither is held while sleeping or streaming. Session tokens live in
``_sessions.Sessions``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from typing import Any

from filemaker_migration.dataset import Dataset
from filemaker_migration.dataset import FieldSpec
from filemaker_migration.dataset import LayoutSpec
from filemaker_migration.emulator import values
from filemaker_migration.emulator._sessions import Sessions
from filemaker_migration.emulator.config import EmulatorConfig
from filemaker_migration.emulator.containers import ContainerRegistry
from filemaker_migration.emulator.containers import Md5Cache
from filemaker_migration.emulator.containers import Pacer
from filemaker_migration.emulator.errors import DateValidation
from filemaker_migration.emulator.errors import FieldMissing
from filemaker_migration.emulator.errors import FieldNotModifiable
from filemaker_migration.emulator.errors import LayoutMissing
from filemaker_migration.emulator.errors import ModIdMismatch
from filemaker_migration.emulator.errors import NoRecordsMatch
from filemaker_migration.emulator.errors import ParameterInvalid
from filemaker_migration.emulator.errors import RecordMissing
from filemaker_migration.emulator.errors import UnexpectedError
from filemaker_migration.emulator.faults import FaultConfig
from filemaker_migration.emulator.faults import FaultDice
from filemaker_migration.emulator.find import parse_sort
from filemaker_migration.emulator.find import run_find
from filemaker_migration.emulator.find import sort_rows
from filemaker_migration.emulator.realserver import Counters
from filemaker_migration.emulator.realserver import LockTable
from filemaker_migration.emulator.realserver import RecordInUse
from filemaker_migration.emulator.realserver import TokenGate
from filemaker_migration.emulator.realserver import TransferMeter
from filemaker_migration.emulator.realserver import portal_data
from filemaker_migration.emulator.realserver import reference_ids
from filemaker_migration.emulator.realserver import reference_value
from filemaker_migration.emulator.store import Store
from filemaker_migration.emulator.store import StoredRecord
from filemaker_migration.emulator.store import save_upload

_ISO_INPUT = re.compile(r"^\s*\d{4}-")


@dataclass(frozen=True)
class Page:
    """One page of a found set, with the counts dataInfo reports."""

    records: list[StoredRecord]
    total: int
    found: int


class Backend:
    """Everything a running emulator knows; the handlers' only collaborator."""

    def __init__(
        self,
        dataset: Dataset,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dataset = dataset
        self.config = config or EmulatorConfig()
        self.clock = clock
        self.sleep = sleep
        self.set_faults(self.config.faults)
        self.state_dir = self.config.state_dir or dataset.root / "state"
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.sessions = Sessions(dataset, lambda: self.faults, clock)
        self._patches = 0
        self._fields = {
            name: {f.name: f for f in spec.fields}
            for name, spec in dataset.layouts.items()
        }
        self.store = Store(self.state_dir / "emulator.sqlite3")
        self._records: dict[str, dict[int, StoredRecord]] = {}
        self._next_id: dict[str, int] = {}
        for name, (next_id, records) in self.store.load(dataset).items():
            self._records[name] = {r.record_id: r for r in records}
            self._next_id[name] = next_id
        self.containers = ContainerRegistry(
            clock, lambda: self.faults.container_url_seconds
        )
        self.md5 = Md5Cache()
        self.total_pacer = Pacer(lambda: self.faults.total_bytes_per_sec, clock, sleep)
        # Real-server behaviours (see realserver.py), with what tests read back.
        self.gate = TokenGate()
        self.meter = TransferMeter()
        self.locks = LockTable()
        # portal_rows, stream_token_requests, stream_bodies, refused_...
        self.seen = Counters()

    def close(self) -> None:
        self.store.close()

    # -- faults -----------------------------------------------------------

    def set_faults(self, faults: FaultConfig) -> None:
        """Replace every knob at once and re-seed the random faults."""
        self.faults = faults
        self.dice = FaultDice(faults.seed)

    def injected_fault(self) -> str | None:
        """Which random fault (if any) this request gets: drop, 502 or 503."""
        if self.dice.roll(self.faults.drop_probability):
            return "drop"
        if self.dice.roll(self.faults.http_502_probability):
            return "502"
        if self.dice.roll(self.faults.http_503_probability):
            return "503"
        return None

    # -- sessions (see _sessions) ------------------------------------------

    def check_database(self, database: str) -> None:
        self.sessions.check_database(database)

    def login(self, database: str, authorization: str | None) -> str:
        return self.sessions.login(database, authorization)

    def logout(self, database: str, token: str) -> None:
        self.sessions.logout(database, token)

    def authenticate(self, database: str | None, authorization: str | None) -> None:
        """Check the Bearer token and slide its idle expiry (see `Sessions`)."""
        self.sessions.authenticate(database, authorization)

    # -- layouts and values -----------------------------------------------

    def layout(self, name: str) -> LayoutSpec:
        spec = self.dataset.layouts.get(name)
        if spec is None:
            raise LayoutMissing()
        return spec

    def field_value(self, spec: LayoutSpec, record: StoredRecord, name: str) -> Any:
        """The stored value, computing ``md5:<container>`` calculations.

        A literal value in the record wins over the calculation, so a dataset
        can plant a wrong checksum on purpose.
        """
        value = record.data.get(name, "")
        field = self._fields[spec.name].get(name)
        if (
            value == ""
            and field is not None
            and field.type == "calculation"
            and field.calculation.startswith("md5:")
        ):
            source = record.data.get(field.calculation[4:], "")
            return self.md5.md5(self.container_path(source)) if source else ""
        return value

    def container_path(self, stored: str) -> Path:
        return self.dataset.root / stored

    def render(
        self,
        spec: LayoutSpec,
        record: StoredRecord,
        host: str,
        *,
        iso: bool = False,
        fresh: bool = True,
        portals: list[str] | None = None,
        portal_limit: int | None = None,
    ) -> dict[str, Any]:
        """A record as the Data API returns it (``spec`` = response layout).

        ``fresh``: a read of this record alone (its URLs are never stale);
        ``portals``: the portals asked for, None for every one."""
        faults, rid = self.faults, record.record_id
        nth = faults.stale_url_every_nth
        stale = not fresh and nth > 0 and rid % nth == 0
        by_reference = rid in reference_ids(faults.reference_records)
        field_data: dict[str, Any] = {}
        for field in spec.fields:
            stored = self.field_value(spec, record, field.name)
            if field.result != "container":
                field_data[field.name] = values.render(field.result, stored, iso)
            elif not stored:
                field_data[field.name] = ""
            elif by_reference:
                field_data[field.name] = reference_value(stored)
            else:
                field_data[field.name] = self.containers.issue(
                    f"{spec.table}\0{rid}\0{field.name}",
                    self.container_path(stored),
                    host,
                    self.config.database_folder,
                    stale=stale,
                )
        rendered: dict[str, Any] = {
            "fieldData": field_data,
            "portalData": {},
            "recordId": str(rid),
            "modId": str(record.mod_id),
        }
        if faults.portal_rows > 0 and (portals is None or "Notes" in portals):
            data, info = portal_data(
                self.dataset.database, rid, faults.portal_rows, portal_limit
            )
            rendered["portalData"], rendered["portalDataInfo"] = data, info
            self.seen.bump("portal_rows", len(data["Notes"]))
        return rendered

    # -- reading ----------------------------------------------------------

    def _snapshot(self, layout: str) -> list[StoredRecord]:
        with self._lock:
            return list(self._records[layout].values())

    def _value_of(self, spec: LayoutSpec) -> Callable[[StoredRecord, str], Any]:
        return lambda record, name: self.field_value(spec, record, name)

    def get_range(self, layout: str, offset: int, limit: int, sort: Any) -> Page:
        """A page of all records. UNCONFIRMED choice: a page starting past the
        end answers 101, like an empty table does."""
        spec = self.layout(layout)
        keys = parse_sort(spec, sort)
        rows = self._snapshot(layout)
        total = len(rows)
        sort_rows(spec, rows, keys, self._value_of(spec))
        page = rows[offset - 1 : offset - 1 + limit]
        if not page:
            raise RecordMissing()
        return Page(page, total, total)

    def get_record(self, layout: str, record_id: str) -> Page:
        self.layout(layout)
        record = self._records[layout].get(_record_id(record_id))
        if record is None:
            raise RecordMissing()
        return Page([record], len(self._records[layout]), 1)

    def find(self, layout: str, query: Any, offset: int, limit: int, sort: Any) -> Page:
        """UNCONFIRMED choice: a page starting past the found set answers 401."""
        spec = self.layout(layout)
        keys = parse_sort(spec, sort)
        rows = self._snapshot(layout)
        found = run_find(spec, rows, query, self._value_of(spec))
        sort_rows(spec, found, keys, self._value_of(spec))
        page = found[offset - 1 : offset - 1 + limit]
        if not page:
            raise NoRecordsMatch()
        return Page(page, len(rows), len(found))

    # -- writing ----------------------------------------------------------

    def _field_data(
        self, spec: LayoutSpec, field_data: Any, iso: bool
    ) -> dict[str, Any]:
        if not isinstance(field_data, dict):
            raise ParameterInvalid()
        out = {}
        for name, value in field_data.items():
            field: FieldSpec | None = self._fields[spec.name].get(name)
            if field is None:
                raise FieldMissing()
            if field.type == "calculation":
                raise FieldNotModifiable()
            if (
                not iso
                and field.result in ("date", "timeStamp")
                and isinstance(value, str)
                and _ISO_INPUT.match(value)
            ):
                # ISO dates need dateformats=2 (go-fm, live server).
                raise DateValidation()
            out[name] = values.to_storage(field.result, value)
        return out

    def create(
        self, layout: str, field_data: Any, *, iso: bool = False
    ) -> StoredRecord:
        spec = self.layout(layout)
        data = self._field_data(spec, field_data, iso)
        with self._write_lock:
            record = StoredRecord(self._next_id[layout], 0, data)
            self.store.insert(layout, record, record.record_id + 1)
            with self._lock:
                self._records[layout][record.record_id] = record
                self._next_id[layout] = record.record_id + 1
        return record

    def edit(
        self,
        layout: str,
        record_id: str,
        field_data: Any,
        *,
        mod_id: Any = None,
        iso: bool = False,
    ) -> StoredRecord:
        """Apply an edit; ``{}`` changes nothing and keeps the modId.

        Raises:
            ModIdMismatch: ``mod_id`` given and not the current one (306).
            UnexpectedError: the fail_every_nth_patch knob fired (951).
            RecordInUse: the record is open in a user's window (301).
        """
        spec = self.layout(layout)
        data = self._field_data(spec, field_data, iso)
        rid = _record_id(record_id)
        with self._write_lock:
            record = self._records[layout].get(rid)
            if record is None:
                raise RecordMissing()
            self._patches += 1
            nth = self.faults.fail_every_nth_patch
            if nth and self._patches % nth == 0:
                raise UnexpectedError()
            faults = self.faults
            if self.locks.refuses(
                layout, rid, faults.locked_every_nth, faults.lock_refusals
            ):
                raise RecordInUse()
            if mod_id not in (None, "") and str(mod_id).strip() != str(record.mod_id):
                raise ModIdMismatch()
            if not data:
                return record
            updated = StoredRecord(rid, record.mod_id + 1, {**record.data, **data})
            self.store.update(layout, updated)
            with self._lock:
                self._records[layout][rid] = updated
        return updated

    def delete(self, layout: str, record_id: str) -> None:
        self.layout(layout)
        rid = _record_id(record_id)
        with self._write_lock:
            if rid not in self._records[layout]:
                raise RecordMissing()
            self.store.delete(layout, rid)
            with self._lock:
                del self._records[layout][rid]

    def upload(
        self,
        layout: str,
        record_id: str,
        field_name: str,
        filename: str,
        body: IO[bytes],
    ) -> StoredRecord:
        """Store an uploaded file under DIR/state/uploads and point the field at it."""
        spec = self.layout(layout)
        field = self._fields[spec.name].get(field_name)
        if field is None or field.result != "container":
            raise FieldMissing()
        if _record_id(record_id) not in self._records[layout]:
            raise RecordMissing()
        target = save_upload(self.state_dir / "uploads", filename, body)
        try:
            stored = str(target.relative_to(self.dataset.root))
        except ValueError:
            stored = str(target)
        with self._write_lock:
            record = self._records[layout].get(_record_id(record_id))
            if record is None:
                raise RecordMissing()
            data = {**record.data, field_name: stored}
            updated = StoredRecord(record.record_id, record.mod_id + 1, data)
            self.store.update(layout, updated)
            with self._lock:
                self._records[layout][record.record_id] = updated
        return updated


def _record_id(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError) as exc:
        raise RecordMissing() from exc
