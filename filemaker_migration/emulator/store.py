"""Durable emulator state: one SQLite file under DIR/state/.

On first start each layout's records/<Layout>.jsonl is copied into SQLite in
one transaction (a crash mid-way leaves nothing, and the next start copies
again). After that SQLite is the truth and the JSONL is never rewritten.
Every create, edit and delete is one committed transaction (WAL,
synchronous=FULL) before the emulator answers, so a killed emulator loses no
acknowledged write and never leaves a half-written state.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from typing import Any

from filemaker_migration.dataset import Dataset

_SCHEMA = """
CREATE TABLE IF NOT EXISTS layouts (
    layout TEXT PRIMARY KEY,
    next_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    layout TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    mod_id INTEGER NOT NULL,
    field_data TEXT NOT NULL,
    PRIMARY KEY (layout, record_id)
);
"""


@dataclass(frozen=True)
class StoredRecord:
    """One record; replaced, never mutated, so readers need no lock."""

    record_id: int
    mod_id: int
    data: dict[str, Any]


class Store:
    """The SQLite file; callers serialise writes (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def load(self, dataset: Dataset) -> dict[str, tuple[int, list[StoredRecord]]]:
        """Each layout's next record id and records, importing JSONL once."""
        loaded = {}
        for name in dataset.layouts:
            row = self._db.execute(
                "SELECT next_id FROM layouts WHERE layout = ?", (name,)
            ).fetchone()
            if row is None:
                self._import(dataset, name)
                row = self._db.execute(
                    "SELECT next_id FROM layouts WHERE layout = ?", (name,)
                ).fetchone()
            records = [
                StoredRecord(rid, mod, json.loads(data))
                for rid, mod, data in self._db.execute(
                    "SELECT record_id, mod_id, field_data FROM records"
                    " WHERE layout = ? ORDER BY record_id",
                    (name,),
                )
            ]
            loaded[name] = (row[0], records)
        return loaded

    def _import(self, dataset: Dataset, layout: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                next_id = 1
                for record_id, data in dataset.iter_records(layout):
                    self._db.execute(
                        "INSERT OR REPLACE INTO records VALUES (?, ?, 0, ?)",
                        (layout, record_id, json.dumps(data)),
                    )
                    next_id = max(next_id, record_id + 1)
                self._db.execute(
                    "INSERT OR REPLACE INTO layouts VALUES (?, ?)", (layout, next_id)
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def insert(self, layout: str, record: StoredRecord, next_id: int) -> None:
        self._write(
            [
                (
                    "INSERT INTO records VALUES (?, ?, ?, ?)",
                    (layout, record.record_id, record.mod_id, json.dumps(record.data)),
                ),
                ("UPDATE layouts SET next_id = ? WHERE layout = ?", (next_id, layout)),
            ]
        )

    def update(self, layout: str, record: StoredRecord) -> None:
        self._write(
            [
                (
                    "UPDATE records SET mod_id = ?, field_data = ?"
                    " WHERE layout = ? AND record_id = ?",
                    (record.mod_id, json.dumps(record.data), layout, record.record_id),
                )
            ]
        )

    def delete(self, layout: str, record_id: int) -> None:
        self._write(
            [
                (
                    "DELETE FROM records WHERE layout = ? AND record_id = ?",
                    (layout, record_id),
                )
            ]
        )


def save_upload(uploads: Path, filename: str, body: IO[bytes]) -> Path:
    """Write an uploaded container file durably (fsync, then rename)."""
    uploads.mkdir(parents=True, exist_ok=True)
    target = uploads / f"{uuid.uuid4().hex}{Path(filename).suffix.lower()}"
    partial = target.with_name(f".{target.name}.part")
    with partial.open("wb") as fh:
        while chunk := body.read(1024 * 1024):
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, target)
    return target
