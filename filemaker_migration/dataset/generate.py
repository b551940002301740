"""The synthetic clinic: a deterministic dataset shaped like the real FileMaker file.

`generate_dataset(out_dir, images=6664, seed=1)` writes, in the emulator's
dataset format (see format.py):

    DIR/generator.json            written first: marks the directory as ours
    DIR/containers/AB/<UUID>_<field>.<ext>   container files, sharded by id
    DIR/records/API_Images.jsonl, DIR/records/API_Contacts.jsonl
    DIR/expected.json             the migration's test oracle (no personal data)
    DIR/dataset.json              written last and atomically: a directory
                                  without it is a half-generated one

The clinic has about one patient per 5.1 images, each seen on one or more
visit dates with 1-6 photos of different Types per visit, and plants the
defects the migration must survive in fixed shares (see plan.SHARES). Everything
comes from `random.Random(seed)`: the same seed gives byte-identical output.

expected.json is {"format": 1, "summary": {...}, "records": {"<recordId>": {...}}}.
Each record gives: id, id_Contact, contact_exists, outcome ("imported",
"imported_unlinked" or "skipped"), field (the waterfall's choice or null),
passed_over ({field: "empty" | "truncated" | "not_image"} for the better
fields skipped), defects (planted, see plan.SHARES), content_type, sha256,
size, width, height (of the chosen bytes, or null) and thumbnail_sha256 (of
Recovered, or null). The summary holds the counts (GenerationSummary).

The one account is "api" with password `account_password(seed)`: derived from
the seed, so anyone can recompute it. It is a demo credential, not a secret,
but the command still never prints it; the emulator reads it from
dataset.json.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import json
import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filemaker_migration.dataset.format import FieldSpec
from filemaker_migration.dataset.format import LayoutSpec
from filemaker_migration.dataset.format import atomic_write_text
from filemaker_migration.dataset.format import write_dataset_json
from filemaker_migration.dataset.pictures import SIZE_FACTORS
from filemaker_migration.dataset.pictures import Encoded
from filemaker_migration.dataset.pictures import Picture
from filemaker_migration.dataset.pictures import make_pool
from filemaker_migration.dataset.pictures import stamp
from filemaker_migration.dataset.plan import LAST_DAY
from filemaker_migration.dataset.plan import SHARES
from filemaker_migration.dataset.plan import ClinicPlan
from filemaker_migration.dataset.plan import PlannedImage
from filemaker_migration.dataset.plan import plan_clinic
from filemaker_migration.fields import ContactFields
from filemaker_migration.fields import ImageFields

DEFAULT_IMAGES = 6664  # the plan's figure
DEFAULT_SEED = 1
DATABASE = "Clinic"
ACCOUNT = "api"
IMAGES_LAYOUT = "API_Images"
CONTACTS_LAYOUT = "API_Contacts"
MARKER = "generator.json"
EXPECTED = "expected.json"

IMPORTED = "imported"
IMPORTED_UNLINKED = "imported_unlinked"
SKIPPED = "skipped"

MEDIAN_FULL_BYTES = 170 * 1024
ACCOUNTS = ("Admin", "Jono", "Reception", "Kate", "Sam")
FIRST_NAMES = (
    "Olivia", "Jack", "Charlotte", "Noah", "Amelia", "William", "Isla", "Oliver",
    "Mia", "Thomas", "Grace", "James", "Chloe", "Lucas", "Ruby", "Henry", "Zoe",
    "Ethan", "Emily", "Liam", "Sophie", "Harrison", "Ella", "Cooper", "Matilda",
    "Margaret", "Robert", "Patricia", "Peter", "Helen", "Graham", "Joan",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Johnson", "White",
    "Martin", "Anderson", "Thompson", "Nguyen", "Thomas", "Walker", "Harris",
    "Lee", "Ryan", "Robinson", "Kelly", "King", "Davis", "Wright", "Evans",
    "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Chen",
)  # fmt: skip


class GenerateError(Exception):
    """The output directory cannot be used; the message names it."""


@dataclass(frozen=True)
class GenerationSummary:
    """What a run wrote; the same counts as expected.json's "summary"."""

    out_dir: Path
    seed: int
    images: int
    patients: int
    contacts: int
    missing_patients: int
    batches: int  # ImageBatch rows a correct run creates (linked images only)
    files: int
    bytes: int
    outcomes: dict[str, int]
    fields: dict[str, int]
    content_types: dict[str, int]
    defects: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        out = dict(vars(self))
        del out["out_dir"]
        return out


def account_password(seed: int) -> str:
    """The "api" account's password: derived from the seed, documented, not secret."""
    return (
        "clinic-" + hashlib.sha256(f"synthetic-clinic:{seed}".encode()).hexdigest()[:16]
    )


def images_layout(fields: ImageFields | None = None) -> LayoutSpec:
    f = fields or ImageFields()
    specs = [
        FieldSpec(f.id),
        FieldSpec(f.contact_id),
        FieldSpec(f.date, "date"),
        FieldSpec(f.type),
        *(FieldSpec(name, "container") for name in (*f.containers, f.thumbnail)),
        FieldSpec(f.filename),
        FieldSpec(f.filesize),
        FieldSpec(f.imported, "number"),
        FieldSpec(f.recid, "number"),
        FieldSpec(f.export_date, "date"),
        FieldSpec(f.receipt_key),
        FieldSpec(f.receipt_sha256),
        FieldSpec(f.created_by),
        FieldSpec(f.created_at, "timeStamp"),
        FieldSpec(f.modified_by),
        FieldSpec(f.modified_at, "timeStamp"),
        FieldSpec(f.md5, "text", type="calculation", calculation=f"md5:{f.md5_of}"),
    ]
    return LayoutSpec(IMAGES_LAYOUT, "Images", tuple(specs))


def contacts_layout(fields: ContactFields | None = None) -> LayoutSpec:
    fields = fields or ContactFields()
    specs = (
        FieldSpec(fields.id),
        FieldSpec(fields.first_name),
        FieldSpec(fields.last_name),
        FieldSpec(fields.date_of_birth, "date"),
    )
    return LayoutSpec(CONTACTS_LAYOUT, "Contacts", specs)


def generate_dataset(
    out_dir: str | Path,
    images: int = DEFAULT_IMAGES,
    seed: int = DEFAULT_SEED,
    *,
    force: bool = False,
    image_fields: ImageFields | None = None,
    contact_fields: ContactFields | None = None,
) -> GenerationSummary:
    """Write the synthetic clinic into `out_dir` and return what was written.

    Raises:
        GenerateError: `out_dir` is a file, or a non-empty directory that is
            not a previous dataset and `force` is false.
    """
    if images < 1:
        raise ValueError("images must be at least 1")
    image_fields = image_fields or ImageFields()
    contact_fields = contact_fields or ContactFields()
    if len(image_fields.containers) != len(SIZE_FACTORS):
        raise ValueError("the synthetic clinic has exactly five container sizes")
    out = Path(out_dir)
    _prepare_dir(out, force)
    (out / MARKER).write_text(
        json.dumps({"generator": __name__, "seed": seed, "images": images}) + "\n",
        encoding="utf-8",
    )
    rng = random.Random(seed)
    plan = plan_clinic(rng, images)
    jpeg_pool, png_pool = _pools(
        seed, min(32, max(8, images // 25)), min(6, max(2, images // 200))
    )
    writer = _ContainerWriter(out, rng, image_fields, jpeg_pool, png_pool)
    records_dir = out / "records"
    records_dir.mkdir()
    expected: dict[str, Any] = {}
    with (records_dir / f"{IMAGES_LAYOUT}.jsonl").open("w", encoding="utf-8") as fh:
        for record_id, image in enumerate(plan.images, start=1):
            data, oracle = writer.write(record_id, image)
            fh.write(json.dumps(data) + "\n")
            expected[str(record_id)] = oracle
    _write_contacts(rng, records_dir, plan.contact_ids, contact_fields)

    summary = _summarise(out, seed, plan, expected, writer)
    atomic_write_text(
        out / EXPECTED,
        json.dumps({"format": 1, "summary": summary.to_json(), "records": expected})
        + "\n",
    )
    write_dataset_json(
        out,
        database=DATABASE,
        accounts={ACCOUNT: account_password(seed)},
        layouts=[images_layout(image_fields), contacts_layout(contact_fields)],
    )
    return summary


@functools.lru_cache(maxsize=2)
def _pools(
    seed: int, jpeg_count: int, png_count: int
) -> tuple[list[Picture], list[Picture]]:
    # Pictures come from their own stream, so the record plan does not depend
    # on how many are drawn; cached because drawing is most of a small run.
    rng = random.Random(f"synthetic-clinic-pictures:{seed}")
    return make_pool(rng, jpeg_count, "JPEG"), make_pool(rng, png_count, "PNG")


def _prepare_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise GenerateError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force and not (out / MARKER).exists():
            raise GenerateError(
                f"{out}: directory is not empty and is not a generated dataset "
                f"(no {MARKER}); choose an empty directory or use --force to "
                "replace its contents"
            )
        # dataset.json first, the marker last: an interrupted clean-up still
        # looks like a half-generated dataset and may be replaced again.
        (out / "dataset.json").unlink(missing_ok=True)
        for child in sorted(out.iterdir(), key=lambda p: p.name == MARKER):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)


class _ContainerWriter:
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


def _write_contacts(
    rng: random.Random,
    records_dir: Path,
    contact_ids: list[str],
    fields: ContactFields,
) -> None:
    with (records_dir / f"{CONTACTS_LAYOUT}.jsonl").open("w", encoding="utf-8") as fh:
        for contact_id in contact_ids:
            born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(80 * 365))
            record = {
                fields.id: contact_id,
                fields.first_name: rng.choice(FIRST_NAMES),
                fields.last_name: rng.choice(LAST_NAMES),
                fields.date_of_birth: born.strftime("%m/%d/%Y"),
            }
            fh.write(json.dumps(record) + "\n")


def _summarise(
    out: Path,
    seed: int,
    plan: ClinicPlan,
    expected: dict[str, Any],
    writer: _ContainerWriter,
) -> GenerationSummary:
    outcomes = dict.fromkeys((IMPORTED, IMPORTED_UNLINKED, SKIPPED), 0)
    fields = dict.fromkeys(writer.f.containers, 0)
    content_types: dict[str, int] = {}
    defects = dict.fromkeys(SHARES, 0)
    batches = set()
    for image, oracle in zip(plan.images, expected.values(), strict=True):
        outcomes[oracle["outcome"]] += 1
        for name in oracle["defects"]:
            defects[name] += 1
        if oracle["field"]:
            fields[oracle["field"]] += 1
            ctype = oracle["content_type"]
            content_types[ctype] = content_types.get(ctype, 0) + 1
        if oracle["outcome"] == IMPORTED:
            # One ImageBatch per patient per date; undated images share one.
            batches.add((image.patient.id, image.day if image.dated else None))
    return GenerationSummary(
        out_dir=out,
        seed=seed,
        images=len(plan.images),
        patients=len(plan.patients),
        contacts=len(plan.contact_ids),
        missing_patients=sum(not p.in_contacts for p in plan.patients),
        batches=len(batches),
        files=writer.files,
        bytes=writer.bytes,
        outcomes=outcomes,
        fields=fields,
        content_types=dict(sorted(content_types.items())),
        defects=defects,
    )
