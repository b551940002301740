"""Reading and writing the dataset directory (no Django imports).

dataset.json:

    {
      "format": 1,
      "database": "Clinic",
      "accounts": [{"name": "api", "password": "..."}],
      "layouts": [
        {"name": "API_Images", "table": "Images",
         "fields": [
            {"name": "id", "result": "text"},
            {"name": "image_Full", "result": "container"},
            {"name": "image_Full_MD5", "result": "text", "type": "calculation",
             "calculation": "md5:image_Full"}
         ]}
      ]
    }

records/<Layout>.jsonl holds one JSON object per line: the record's field data
(field name -> value). Dates are written as FileMaker shows them (MM/DD/YYYY),
timestamps as MM/DD/YYYY HH:MM:SS, numbers as JSON numbers, empty fields as "".
A container field's value is a path relative to the dataset directory, or "".
A line may instead be {"recordId": N, "fieldData": {...}} to fix the record id;
otherwise records are numbered 1, 2, 3... in file order.

A calculation field with "calculation": "md5:<container field>" is computed by
the emulator from the container's bytes (FileMaker's
GetContainerAttribute(field; "MD5")), unless the record line gives it a value.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
FIELD_RESULTS = ("text", "number", "date", "time", "timeStamp", "container")


class DatasetError(ValueError):
    """The dataset directory is malformed; the message names the file and entry."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    result: str = "text"
    type: str = "normal"  # normal | calculation
    calculation: str = ""  # e.g. "md5:image_Full"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "result": self.result}
        if self.type != "normal":
            out["type"] = self.type
        if self.calculation:
            out["calculation"] = self.calculation
        return out


@dataclass(frozen=True)
class LayoutSpec:
    name: str
    table: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def container_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.result == "container")


@dataclass
class Dataset:
    root: Path
    database: str
    accounts: dict[str, str]
    layouts: dict[str, LayoutSpec] = field(default_factory=dict)

    def records_path(self, layout: str) -> Path:
        return self.root / "records" / f"{layout}.jsonl"

    def iter_records(self, layout: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (recordId, fieldData) in file order."""
        path = self.records_path(layout)
        if not path.exists():
            return
        spec = self.layouts[layout]
        known = {f.name for f in spec.fields}
        next_id = 1
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(
                        f"{path}:{lineno}: not JSON ({exc.msg})"
                    ) from exc
                if not isinstance(obj, dict):
                    raise DatasetError(f"{path}:{lineno}: a line must be a JSON object")
                if "fieldData" in obj:
                    record_id = int(obj.get("recordId", next_id))
                    data = obj["fieldData"]
                else:
                    record_id, data = next_id, obj
                unknown = set(data) - known
                if unknown:
                    raise DatasetError(
                        f"{path}:{lineno}: fields not on layout {layout!r}: "
                        f"{', '.join(sorted(unknown))}"
                    )
                next_id = record_id + 1
                yield record_id, data


def load_dataset(root: str | os.PathLike[str]) -> Dataset:
    """Read DIR/dataset.json, checking what a user's hand-made file may get wrong."""
    root = Path(root)
    meta_path = root / "dataset.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetError(f"{meta_path}: no such file (is this a dataset?)") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{meta_path}: not JSON ({exc.msg})") from exc
    if meta.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise DatasetError(f"{meta_path}: unsupported format {meta.get('format')!r}")
    try:
        database = str(meta["database"])
        accounts = {str(a["name"]): str(a["password"]) for a in meta["accounts"]}
        layouts: dict[str, LayoutSpec] = {}
        for raw in meta["layouts"]:
            fields = []
            for f in raw["fields"]:
                result = f.get("result", "text")
                if result not in FIELD_RESULTS:
                    raise DatasetError(
                        f"{meta_path}: field {f.get('name')!r} of layout "
                        f"{raw.get('name')!r} has unknown result {result!r} "
                        f"(one of {', '.join(FIELD_RESULTS)})"
                    )
                fields.append(
                    FieldSpec(
                        name=str(f["name"]),
                        result=result,
                        type=f.get("type", "normal"),
                        calculation=f.get("calculation", ""),
                    )
                )
            layouts[raw["name"]] = LayoutSpec(
                name=raw["name"],
                table=raw.get("table", raw["name"]),
                fields=tuple(fields),
            )
    except (KeyError, TypeError) as exc:
        raise DatasetError(f"{meta_path}: missing or malformed entry {exc}") from exc
    return Dataset(root=root, database=database, accounts=accounts, layouts=layouts)


def write_dataset_json(
    root: str | os.PathLike[str],
    *,
    database: str,
    accounts: dict[str, str],
    layouts: list[LayoutSpec],
) -> Path:
    """Write DIR/dataset.json atomically."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT_VERSION,
        "database": database,
        "accounts": [{"name": n, "password": p} for n, p in accounts.items()],
        "layouts": [
            {
                "name": lay.name,
                "table": lay.table,
                "fields": [f.to_json() for f in lay.fields],
            }
            for lay in layouts
        ],
    }
    path = root / "dataset.json"
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
