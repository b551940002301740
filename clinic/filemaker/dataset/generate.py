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
defects the migration must survive in fixed shares (see SHARES). Everything
comes from `random.Random(seed)`: the same seed gives byte-identical output.

The one account is "api" with password `account_password(seed)`: derived from
the seed, so anyone can recompute it. It is a demo credential, not a secret,
but the command still never prints it; the emulator reads it from
dataset.json.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import math
import random
import shutil
import uuid
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from clinic.filemaker.dataset.format import FieldSpec
from clinic.filemaker.dataset.format import LayoutSpec
from clinic.filemaker.dataset.format import atomic_write_text
from clinic.filemaker.dataset.format import write_dataset_json
from clinic.filemaker.dataset.pictures import SIZE_FACTORS
from clinic.filemaker.dataset.pictures import Picture
from clinic.filemaker.dataset.pictures import make_pool
from clinic.filemaker.dataset.pictures import stamp
from clinic.filemaker.fields import ContactFields
from clinic.filemaker.fields import ImageFields

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

# Exactly as FileMaker spells them, "Planter" typos included.
IMAGE_TYPES = (
    "Left Dorsal",
    "Left Medial",
    "Left Planter",
    "Planter",
    "Posterior",
    "L-Brannock",
    "Shoe Box",
    "Side and bottom of shoes",
    "Soles of shoes",
)

# Share of images carrying each planted defect. The first five are container
# profiles and exclusive; the others combine with them. From 100 images up,
# each appears at least once so the migration's tests can rely on it.
SHARES = {
    "full_empty": 0.05,  # image_Full empty, smaller sizes present
    "only_small_sizes": 0.01,  # only image_medium / image_small
    "all_empty": 0.01,  # no container at all: skipped
    "full_truncated": 0.005,  # image_Full cut short: fall back
    "full_not_image": 0.003,  # a PDF or text behind a .jpg name
    "png": 0.05,
    "undated": 0.02,
    "missing_contact": 0.03,  # id_Contact not in API_Contacts
    "thumbnail_empty": 0.02,  # Recovered empty
}
PROFILES = (
    "full_empty",
    "only_small_sizes",
    "all_empty",
    "full_truncated",
    "full_not_image",
)
ALWAYS_PLANTED_FROM = 100

IMAGES_PER_PATIENT = 5.1
VISIT_SIZE_WEIGHTS = (12, 18, 24, 22, 14, 10)  # 1..6 photos per visit
FIRST_DAY = dt.date(2014, 1, 1)
LAST_DAY = dt.date(2025, 10, 31)
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
    batches: int
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


@dataclass
class _Patient:
    id: str
    images: int
    in_contacts: bool = True


@dataclass
class _Image:
    id: str
    patient: _Patient
    day: dt.date
    created: dt.datetime
    type: str
    defects: set[str] = field(default_factory=set)


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
    patients = _plan_patients(rng, images)
    plan = _plan_images(rng, patients)
    _plant_defects(rng, plan, patients)
    # Pictures come from their own stream so the record plan above does not
    # depend on how many pictures are drawn.
    pool_rng = random.Random(f"synthetic-clinic-pictures:{seed}")
    jpeg_pool = make_pool(pool_rng, min(32, max(8, images // 25)), "JPEG")
    png_pool = make_pool(pool_rng, min(6, max(2, images // 200)), "PNG")

    writer = _ContainerWriter(out, rng, image_fields, jpeg_pool, png_pool)
    records_dir = out / "records"
    records_dir.mkdir()
    expected: dict[str, Any] = {}
    with (records_dir / f"{IMAGES_LAYOUT}.jsonl").open("w", encoding="utf-8") as fh:
        for record_id, image in enumerate(plan, start=1):
            data, oracle = writer.write(record_id, image)
            fh.write(json.dumps(data) + "\n")
            expected[str(record_id)] = oracle
    contacts = _write_contacts(rng, records_dir, patients, contact_fields)

    summary = _summarise(out, seed, plan, patients, contacts, expected, writer)
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


def _new_id(rng: random.Random, seen: set[str]) -> str:
    while True:
        value = str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()
        if value not in seen:
            seen.add(value)
            return value


def _share(n: int, name: str) -> int:
    count = round(n * SHARES[name])
    return max(count, 1) if n >= ALWAYS_PLANTED_FROM else count


def _plan_patients(rng: random.Random, images: int) -> list[_Patient]:
    n = max(1, round(images / IMAGES_PER_PATIENT))
    seen: set[str] = set()
    patients = [_Patient(_new_id(rng, seen), 1) for _ in range(n)]
    # Everyone has at least one image; the rest go mostly to a few regulars.
    weights = [rng.lognormvariate(0, 0.9) for _ in patients]
    for i in rng.choices(range(n), weights, k=images - n):
        patients[i].images += 1
    return patients


def _plan_images(rng: random.Random, patients: list[_Patient]) -> list[_Image]:
    seen = {p.id for p in patients}
    span = (LAST_DAY - FIRST_DAY).days + 1
    plan: list[_Image] = []
    for patient in patients:
        sizes = []
        left = patient.images
        while left:
            size = min(left, rng.choices(range(1, 7), VISIT_SIZE_WEIGHTS)[0])
            sizes.append(size)
            left -= size
        # A patient's visits cluster in a window of a few months to years.
        window = min(span, max(len(sizes) * 7, rng.randrange(30, 2000)))
        start = rng.randrange(span - window + 1)
        days = sorted(rng.sample(range(start, start + window), len(sizes)))
        for size, day_offset in zip(sizes, days, strict=True):
            day = FIRST_DAY + dt.timedelta(days=day_offset)
            at = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(
                seconds=rng.randrange(9 * 3600)
            )
            for image_type in rng.sample(IMAGE_TYPES, size):
                at += dt.timedelta(seconds=rng.randrange(15, 120))
                plan.append(_Image(_new_id(rng, seen), patient, day, at, image_type))
    # FileMaker numbers records in creation order.
    plan.sort(key=lambda image: image.created)
    return plan


def _plant_defects(
    rng: random.Random, plan: list[_Image], patients: list[_Patient]
) -> None:
    n = len(plan)
    counts = [_share(n, name) for name in PROFILES]
    chosen = rng.sample(range(n), sum(counts))
    for name, count in zip(PROFILES, counts, strict=True):
        for i in chosen[:count]:
            plan[i].defects.add(name)
        chosen = chosen[count:]
    # A PNG with no picture at all or a PDF in image_Full would plant nothing.
    can_be_png = [
        i for i, image in enumerate(plan)
        if not image.defects & {"all_empty", "full_not_image"}
    ]  # fmt: skip
    for name, candidates in (
        ("png", can_be_png),
        ("undated", range(n)),
        ("thumbnail_empty", range(n)),
    ):
        for i in rng.sample(candidates, min(len(candidates), _share(n, name))):
            plan[i].defects.add(name)
    # Contacts go missing a whole patient at a time, as when a patient was
    # deleted from Contacts but their images stayed.
    target = remaining = _share(n, "missing_contact")
    others = rng.sample(patients, len(patients))[1:]  # never every patient
    for patient in others:
        if patient.images <= remaining:
            patient.in_contacts = False
            remaining -= patient.images
        if not remaining:
            break
    if target and remaining == target and others:
        min(others, key=lambda p: p.images).in_contacts = False
    for image in plan:
        if not image.patient.in_contacts:
            image.defects.add("missing_contact")


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
        self, record_id: int, image: _Image
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        f, rng, defects = self.f, self.rng, image.defects
        picture = self._pick(rng, "png" in defects)
        present = self._present_sizes(rng, defects)
        values = dict.fromkeys((*f.containers, f.thumbnail), "")
        passed_over: dict[str, str] = {}
        chosen: tuple[str, bytes, Any] | None = None
        for index, name in enumerate(f.containers):
            if index not in present:
                if chosen is None:
                    passed_over[name] = "empty"
                continue
            encoded = picture.sizes[index]
            data = stamp(encoded.data, encoded.format, f"{image.id}/{name}".encode())
            reason = ""
            if index == 0 and "full_truncated" in defects:
                data, reason = (
                    data[: round(len(data) * rng.uniform(0.4, 0.7))],
                    "truncated",
                )
            elif index == 0 and "full_not_image" in defects:
                data, reason = _not_image(rng, image.id), "not_image"
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
        self, record_id: int, image: _Image, values: dict[str, str], picture: Picture
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
            f.date: ""
            if "undated" in image.defects
            else image.day.strftime("%m/%d/%Y"),
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
    patients: list[_Patient],
    fields: ContactFields,
) -> int:
    seen = {p.id for p in patients}
    # Some contacts never had photos taken; they sit among the others.
    ids = [p.id for p in patients if p.in_contacts]
    for _ in range(round(len(patients) * 0.08)):
        ids.insert(rng.randrange(len(ids) + 1), _new_id(rng, seen))
    with (records_dir / f"{CONTACTS_LAYOUT}.jsonl").open("w", encoding="utf-8") as fh:
        for contact_id in ids:
            born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(80 * 365))
            record = {
                fields.id: contact_id,
                fields.first_name: rng.choice(FIRST_NAMES),
                fields.last_name: rng.choice(LAST_NAMES),
                fields.date_of_birth: born.strftime("%m/%d/%Y"),
            }
            fh.write(json.dumps(record) + "\n")
    return len(ids)


def _summarise(
    out: Path,
    seed: int,
    plan: list[_Image],
    patients: list[_Patient],
    contacts: int,
    expected: dict[str, Any],
    writer: _ContainerWriter,
) -> GenerationSummary:
    outcomes = dict.fromkeys((IMPORTED, IMPORTED_UNLINKED, SKIPPED), 0)
    fields = dict.fromkeys(writer.f.containers, 0)
    content_types: dict[str, int] = {}
    defects = dict.fromkeys(SHARES, 0)
    batches = set()
    for image, oracle in zip(plan, expected.values(), strict=True):
        outcomes[oracle["outcome"]] += 1
        for name in oracle["defects"]:
            defects[name] += 1
        if oracle["field"]:
            fields[oracle["field"]] += 1
            ctype = oracle["content_type"]
            content_types[ctype] = content_types.get(ctype, 0) + 1
        if oracle["outcome"] == IMPORTED:
            # One ImageBatch per patient per date; undated images share one.
            undated = "undated" in image.defects
            batches.add((image.patient.id, None if undated else image.day))
    return GenerationSummary(
        out_dir=out,
        seed=seed,
        images=len(plan),
        patients=len(patients),
        contacts=contacts,
        missing_patients=sum(not p.in_contacts for p in patients),
        batches=len(batches),
        files=writer.files,
        bytes=writer.bytes,
        outcomes=outcomes,
        fields=fields,
        content_types=dict(sorted(content_types.items())),
        defects=defects,
    )
