"""What verify found: findings by category, and the result's JSON, CSV and
verdict line (the reconciliation itself is verify.py's)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

MISSING_IN_FILEMAKER = "missing_in_filemaker"
MISSING_IN_DATABASE = "missing_in_database"
MISSING_IN_S3 = "missing_in_s3"
DIFFERING = "differing"
ORPHANED = "orphaned"
CHANGED_AFTER_EXPORT = "changed_after_export"
WRONG_COUNT = "wrong_count"  # a batch's stored count of its images is not theirs
MATCHED = "matched"
CATEGORIES = (
    MISSING_IN_FILEMAKER,
    MISSING_IN_DATABASE,
    MISSING_IN_S3,
    DIFFERING,
    ORPHANED,
    CHANGED_AFTER_EXPORT,
    WRONG_COUNT,
    MATCHED,
)
CSV_COLUMNS = ("category", "side", "record_id", "filemaker_id", "s3_key", "detail")


@dataclass(frozen=True)
class Finding:
    category: str
    side: str  # filemaker, database, s3 or "" (matched)
    record_id: str = ""
    filemaker_id: str = ""
    s3_key: str = ""
    detail: str = ""


@dataclass
class Verification:
    deep: bool
    findings: list[Finding] = field(default_factory=list)
    exported_records: int = 0
    objects: int = 0
    filemaker_bytes: int = 0  # received from FileMaker (its transfer allowance)

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(f.category for f in self.findings)
        return {category: counted.get(category, 0) for category in CATEGORIES}

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.category != MATCHED]

    @property
    def clean(self) -> bool:
        return not self.problems

    def verdict(self) -> str:
        counts = self.counts
        if self.clean:
            return (
                f"CLEAN: {counts[MATCHED]} exported record(s) agree across "
                f"FileMaker, the database and S3 ({self.objects} object(s)"
                f"{', bytes re-read' if self.deep else ''})"
            )
        listed = ", ".join(
            f"{counts[c]} {c.replace('_', ' ')}"
            for c in CATEGORIES
            if c != MATCHED and counts[c]
        )
        return f"DISAGREE: {listed}; {counts[MATCHED]} matched"

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict(),
            "clean": self.clean,
            "deep": self.deep,
            "exported_records": self.exported_records,
            "objects": self.objects,
            "filemaker_bytes": self.filemaker_bytes,
            "counts": self.counts,
            "findings": [asdict(f) for f in self.findings],
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2) + "\n")

    def write_csv(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for finding in self.findings:
                writer.writerow(asdict(finding))
