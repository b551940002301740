"""One synthetic image record: its container files, field data and oracle entry.

`RecordWriter.write` draws a picture for a planned image, writes the sizes the
plan leaves present (planting image_Full's defect, if any), and works out what
a correct migration does with the record (see generate.py for expected.json).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
import random
from pathlib import Path
from typing import Any

from filemaker_migration.dataset.pictures import Encoded
from filemaker_migration.dataset.pictures import Picture
from filemaker_migration.dataset.pictures import stamp
from filemaker_migration.dataset.plan import LAST_DAY
from filemaker_migration.dataset.plan import PlannedImage
from filemaker_migration.fields import ImageFields

IMPORTED = "imported"
IMPORTED_UNLINKED = "imported_unlinked"
SKIPPED = "skipped"

MEDIAN_FULL_BYTES = 170 * 1024
ACCOUNTS = ("Admin", "Jono", "Reception", "Kate", "Sam")


class RecordWriter:
    """Writes one record's container files and works out its expected outcome."""

    def __init__(
        self,
        out: Path,
        rng: random.Random,
        fields: ImageFields,
        jpeg_pool: list[Picture],
        png_pool: list[Picture],
    ) -> None:
        self.out, self.rng, self.f = out, rng, fields
        self.jpeg_pool, self.png_pool = jpeg_pool, png_pool
        self.log_sizes = [math.log(p.full_size) for p in jpeg_pool]
        self.made_dirs: set[str] = set()
        self.files = 0
        self.bytes = 0

    def write(
        self, record_id: int, image: PlannedImage
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        f, rng, defects = self.f, self.rng, image.defects
        picture = self._pick(rng, "png" in defects)
        present = self._present_sizes(rng, defects)
        values = dict.fromkeys((*f.containers, f.thumbnail), "")
        passed_over: dict[str, str] = {}
        chosen: tuple[str, bytes, Encoded] | None = None
        for index, name in enumerate(f.containers):
            if index not in present:
                if chosen is None:
                    passed_over[name] = "empty"
                continue
            encoded = picture.sizes[index]
            data = stamp(encoded.data, encoded.format, f"{image.id}/{name}".encode())
            reason = ""
            if index == 0:
                data, reason = _damage(rng, defects, data, image.id)
            values[name] = self._save(image.id, name, encoded.ext, data)
            if chosen is None:
                if reason:
                    passed_over[name] = reason
                else:
                    chosen = (name, data, encoded)
        thumbnail_sha256 = None
        if "thumbnail_empty" not in defects:
            thumb = picture.thumbnail
            data = stamp(thumb.data, thumb.format, f"{image.id}/{f.thumbnail}".encode())
            values[f.thumbnail] = self._save(image.id, f.thumbnail, thumb.ext, data)
            thumbnail_sha256 = hashlib.sha256(data).hexdigest()

        record = self._field_data(record_id, image, values, picture)
        contact_exists = image.patient.in_contacts
        oracle: dict[str, Any] = {
            "id": image.id,
            "id_Contact": image.patient.id,
            "contact_exists": contact_exists,
            "outcome": SKIPPED,
            "field": None,
            "passed_over": passed_over,
            "defects": sorted(defects),
            "content_type": None,
            "sha256": None,
            "size": None,
            "width": None,
            "height": None,
            "thumbnail_sha256": thumbnail_sha256,
        }
        if chosen is not None:
            name, data, encoded = chosen
            oracle.update(
                outcome=IMPORTED if contact_exists else IMPORTED_UNLINKED,
                field=name,
                content_type=encoded.content_type,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                width=encoded.width,
                height=encoded.height,
            )
        return record, oracle

    def _pick(self, rng: random.Random, png: bool) -> Picture:
        if png:
            return rng.choice(self.png_pool)
        # image_Full sizes are skewed: most photos are small, a few are ~2 MB.
        target = math.log(rng.lognormvariate(math.log(MEDIAN_FULL_BYTES), 0.8))
        i = bisect.bisect_left(self.log_sizes, target)
        near = [j for j in (i - 1, i) if 0 <= j < len(self.log_sizes)]
        return self.jpeg_pool[min(near, key=lambda j: abs(self.log_sizes[j] - target))]

    @staticmethod
    def _present_sizes(rng: random.Random, defects: set[str]) -> set[int]:
        if "all_empty" in defects:
            return set()
        if "only_small_sizes" in defects:
            return {4} if rng.random() < 0.3 else {3, 4}
        if "full_empty" in defects:
            return {2, 3, 4} if rng.random() < 0.25 else {1, 2, 3, 4}
        return {0, 1, 2, 3, 4}

    def _save(self, image_id: str, name: str, ext: str, data: bytes) -> str:
        shard = image_id[:2]
        if shard not in self.made_dirs:
            (self.out / "containers" / shard).mkdir(parents=True, exist_ok=True)
            self.made_dirs.add(shard)
        relative = f"containers/{shard}/{image_id}_{name}.{ext}"
        # Plain writes, no fsync: a fresh directory that only counts once
        # dataset.json (written last, atomically) exists.
        (self.out / relative).write_bytes(data)
        self.files += 1
        self.bytes += len(data)
        return relative

    def _field_data(
        self,
        record_id: int,
        image: PlannedImage,
        values: dict[str, str],
        picture: Picture,
    ) -> dict[str, Any]:
        f, rng = self.f, self.rng
        ext = picture.sizes[0].ext
        if rng.random() < 0.12:
            filename = f"IMG_{rng.randrange(1, 10000):04d}.{ext.upper()}"
        else:
            filename = f"{image.type.replace(' ', '-')}.{ext}"
        created_by = rng.choice(ACCOUNTS)
        modified_by, modified = created_by, image.created
        if rng.random() < 0.55:
            end = dt.datetime.combine(LAST_DAY, dt.time(17))
            seconds = max(0, int((end - image.created).total_seconds()))
            modified = image.created + dt.timedelta(seconds=rng.randrange(seconds + 1))
            modified_by = rng.choice(("Jono", "Admin"))
        empty = "all_empty" in image.defects
        data: dict[str, Any] = {
            f.id: image.id,
            f.contact_id: image.patient.id,
            f.date: image.day.strftime("%m/%d/%Y") if image.dated else "",
            f.type: image.type,
            **values,
            f.filename: filename,
            f.filesize: "" if empty else _filesize(picture.full_size),
            # The plan's flag is ignored by the migration; mostly 1 as in FileMaker.
            f.imported: 1 if rng.random() < 0.9 else "",
            f.recid: record_id,
            f.export_date: "",
            f.receipt_key: "",
            f.receipt_sha256: "",
            f.created_by: created_by,
            f.created_at: image.created.strftime("%m/%d/%Y %H:%M:%S"),
            f.modified_by: modified_by,
            f.modified_at: modified.strftime("%m/%d/%Y %H:%M:%S"),
        }
        return data


def _damage(
    rng: random.Random, defects: set[str], data: bytes, image_id: str
) -> tuple[bytes, str]:
    """Plant image_Full's defect, if any; return the bytes and why they fail."""
    if "full_truncated" in defects:
        # Cut well before the end so Pillow's full load() fails, as an
        # interrupted insert into the container would leave it.
        return data[: round(len(data) * rng.uniform(0.4, 0.7))], "truncated"
    if "full_not_image" in defects:
        return _not_image(rng, image_id), "not_image"
    return data, ""


def _not_image(rng: random.Random, image_id: str) -> bytes:
    if rng.random() < 0.5:
        return (
            b"%PDF-1.4\n% scanned referral " + image_id.encode() + b"\n"
            b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n"
        )
    return f"Image not available ({image_id}); see paper file.\r\n".encode()


def _filesize(size: int) -> str:
    """FileMaker's formatting, as in the plan's sample: ".03 MB"."""
    text = f"{size / 1048576:.2f}"
    return f"{text[1:] if text.startswith('0.') else text} MB"
