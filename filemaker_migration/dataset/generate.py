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

import datetime as dt
import functools
import hashlib
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filemaker_migration.dataset._records import IMPORTED
from filemaker_migration.dataset._records import IMPORTED_UNLINKED
from filemaker_migration.dataset._records import SKIPPED
from filemaker_migration.dataset._records import RecordWriter
from filemaker_migration.dataset.format import FieldSpec
from filemaker_migration.dataset.format import LayoutSpec
from filemaker_migration.dataset.format import atomic_write_text
from filemaker_migration.dataset.format import write_dataset_json
from filemaker_migration.dataset.pictures import SIZE_FACTORS
from filemaker_migration.dataset.pictures import Picture
from filemaker_migration.dataset.pictures import make_pool
from filemaker_migration.dataset.plan import SHARES
from filemaker_migration.dataset.plan import ClinicPlan
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
    writer = RecordWriter(out, rng, image_fields, jpeg_pool, png_pool)
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
    writer: RecordWriter,
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
