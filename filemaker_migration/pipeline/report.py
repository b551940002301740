"""The run's JSON report: every record's outcome, streamed to disk as it happens.

Records go to a temporary JSON-lines file as they finish (memory stays flat
whatever the number of records), and the final report is assembled from it
and renamed into place at the end. No patient names or other personal details
are written: records are identified by FileMaker ids only.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any


@dataclass
class RecordOutcome:
    record_id: str
    filemaker_id: str
    outcome: str  # imported | imported_unlinked | skipped | failed
    reason: str = ""
    detail: str = ""
    container_field: str = ""
    fields_tried: list[dict[str, Any]] = field(default_factory=list)
    s3_key: str = ""
    sha256: str = ""
    size: int = 0
    content_type: str = ""
    batch_created: bool = False
    # What a person should know besides the outcome (outcomes.notes_for): an
    # unreadable date, a name whose extension lies. The first is the reason
    # of a record imported without one.
    notes: list[dict[str, str]] = field(default_factory=list)


class ReportWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".jsonl"
        )
        self._lines_path = Path(tmp)
        self._lines = os.fdopen(fd, "w", encoding="utf-8")
        self._lock = threading.Lock()

    def add(self, outcome: RecordOutcome) -> None:
        line = json.dumps(asdict(outcome), ensure_ascii=False)
        with self._lock:
            self._lines.write(line + "\n")

    def finish(self, header: dict[str, Any]) -> Path:
        """Write the report (header keys first, then "records") and return its path."""
        self._lines.close()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                head = json.dumps(header, indent=2, ensure_ascii=False)
                out.write(head[:-1].rstrip() + ',\n  "records": [')
                with self._lines_path.open(encoding="utf-8") as lines:
                    for index, line in enumerate(lines):
                        out.write(
                            ("\n    " if index == 0 else ",\n    ") + line.rstrip("\n")
                        )
                out.write("\n  ]\n}\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            self._lines_path.unlink(missing_ok=True)
        return self.path
