from __future__ import annotations

import hashlib
import io
import re
import statistics
from pathlib import Path

import pytest
from PIL import Image

from filemaker_migration.dataset import generate
from filemaker_migration.dataset import load_dataset
from filemaker_migration.dataset.generate import FIRST_NAMES
from filemaker_migration.dataset.generate import LAST_NAMES
from filemaker_migration.dataset.generate import GenerateError
from filemaker_migration.dataset.generate import account_password
from filemaker_migration.dataset.generate import generate_dataset
from filemaker_migration.dataset.plan import IMAGE_TYPES
from filemaker_migration.dataset.plan import SHARES
from filemaker_migration.dataset.plan import share
from filemaker_migration.fields import ContactFields
from filemaker_migration.fields import ImageFields
from tests.dataset.conftest import SHARED_IMAGES
from tests.dataset.conftest import SHARED_SEED

F = ImageFields()
C = ContactFields()
DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
TIMESTAMP = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$")
UUID = re.compile(
    r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$"
)
CLAIMED = {".jpg": "JPEG", ".png": "PNG"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


def _decode(data: bytes, claimed: str) -> Image.Image | None:
    """The picture, if the bytes are a whole image of the claimed format."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except (OSError, SyntaxError, ValueError):
        return None
    return img if img.format == claimed else None


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_dataset_loads_with_the_format_reader(clinic_dir):
    ds = load_dataset(clinic_dir)
    assert ds.database == "Clinic"
    assert ds.accounts == {"api": account_password(SHARED_SEED)}
    images = ds.layouts["API_Images"]
    assert images.table == "Images"
    assert images.container_fields == (*F.containers, F.thumbnail)
    md5 = images.field(F.md5)
    assert md5.type == "calculation"
    assert md5.calculation == "md5:image_Full"
    assert images.field(F.date).result == "date"
    assert images.field(F.created_at).result == "timeStamp"
    assert images.field(F.recid).result == "number"
    contacts = ds.layouts["API_Contacts"]
    assert contacts.table == "Contacts"
    assert [f.name for f in contacts.fields] == [
        C.id,
        C.first_name,
        C.last_name,
        C.date_of_birth,
    ]
    records = list(ds.iter_records("API_Images"))
    assert [rid for rid, _ in records] == list(range(1, SHARED_IMAGES + 1))
    layout_fields = {f.name for f in images.fields}
    for rid, data in records:
        assert data[F.recid] == rid
        # Every field but the calculation, which the emulator computes.
        assert set(data) == layout_fields - {F.md5}
    assert len(list(ds.iter_records("API_Contacts"))) > 0


def test_records_have_filemaker_formats(image_records, contact_records):
    for data in image_records:
        assert UUID.match(data[F.id])
        assert UUID.match(data[F.contact_id])
        assert data[F.type] in IMAGE_TYPES
        assert data[F.date] == "" or DATE.match(data[F.date])
        if data[F.date]:
            assert 2014 <= int(data[F.date][-4:]) <= 2025
        assert TIMESTAMP.match(data[F.created_at])
        assert TIMESTAMP.match(data[F.modified_at])
        assert data[F.imported] in (1, "")
        assert (
            data[F.export_date] == data[F.receipt_key] == data[F.receipt_sha256] == ""
        )
        assert data[F.filesize] == "" or re.match(r"^\d*\.\d\d MB$", data[F.filesize])
        assert re.match(r"^[\w-]+\.(jpg|png|JPG|PNG)$", data[F.filename])
    assert {d[F.type] for d in image_records} == set(IMAGE_TYPES)
    assert len({d[F.id] for d in image_records}) == len(image_records)
    for contact in contact_records:
        assert UUID.match(contact[C.id])
        assert contact[C.first_name] in FIRST_NAMES
        assert contact[C.last_name] in LAST_NAMES
        assert 1930 <= int(contact[C.date_of_birth][-4:]) <= 2010


def test_container_files_decode_except_planted_failures(
    clinic_dir, image_records, expected
):
    seen: set[str] = set()
    for rid, data in enumerate(image_records, start=1):
        planted = set(expected["records"][str(rid)]["defects"])
        for name in (*F.containers, F.thumbnail):
            if not data[name]:
                continue
            path = clinic_dir / data[name]
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()
            assert digest not in seen, f"duplicate bytes in {path}"
            seen.add(digest)
            img = _decode(body, CLAIMED[path.suffix])
            broken = name == F.containers[0] and planted & {
                "full_truncated",
                "full_not_image",
            }
            assert (img is None) == bool(broken), path


def test_container_sizes_are_realistic(clinic_dir, image_records, expected):
    broken = {"full_truncated", "full_not_image"}

    def sizes(name, suffix=".jpg"):
        out = []
        for rid, data in enumerate(image_records, start=1):
            defects = set(expected["records"][str(rid)]["defects"])
            if name == F.containers[0] and defects & broken:
                continue
            if data[name].endswith(suffix):
                out.append((clinic_dir / data[name]).stat().st_size)
        return out

    full = sizes(F.containers[0])
    assert min(full) >= 20_000
    assert max(full) <= 2_300_000
    assert 100_000 <= statistics.median(full) <= 350_000
    small = sizes(F.containers[4])
    assert min(small) >= 2_000
    assert max(small) <= 40_000
    assert 5_000 <= statistics.median(small) <= 15_000
    thumbs = sizes(F.thumbnail)
    assert min(thumbs) >= 3_000
    assert max(thumbs) <= 46_000
    for name in F.containers:
        assert max(sizes(name, ".png"), default=0) <= 2_000_000


def test_sizes_of_one_record_shrink_from_full_to_small(clinic_dir, image_records):
    for data in image_records[:40]:
        dims = []
        for name in F.containers:
            if data[name]:
                with Image.open(clinic_dir / data[name]) as img:
                    dims.append(img.size)
        if len(dims) == 5:
            assert dims == sorted(dims, reverse=True)
            assert len(set(dims)) == 5


def test_expected_matches_an_independent_waterfall(
    image_records, contact_records, expected, clinic_dir
):
    contacts = {contact[C.id] for contact in contact_records}
    records = expected["records"]
    assert list(records) == [str(i) for i in range(1, SHARED_IMAGES + 1)]
    for rid, data in enumerate(image_records, start=1):
        oracle = records[str(rid)]
        assert oracle["id"] == data[F.id]
        assert oracle["id_Contact"] == data[F.contact_id]
        assert oracle["contact_exists"] == (data[F.contact_id] in contacts)
        chosen = None
        for name in F.containers:
            if not data[name]:
                continue
            path = clinic_dir / data[name]
            body = path.read_bytes()
            img = _decode(body, CLAIMED[path.suffix])
            if img is not None:
                chosen = (name, body, img)
                break
        if chosen is None:
            assert oracle["outcome"] == "skipped"
            assert oracle["field"] is oracle["sha256"] is oracle["content_type"] is None
            continue
        name, body, img = chosen
        outcome = "imported" if oracle["contact_exists"] else "imported_unlinked"
        assert oracle["outcome"] == outcome
        assert oracle["field"] == name
        assert oracle["sha256"] == hashlib.sha256(body).hexdigest()
        assert oracle["size"] == len(body)
        assert oracle["content_type"] == CONTENT_TYPES[img.format]
        assert (oracle["width"], oracle["height"]) == img.size
        assert set(oracle["passed_over"]) == set(
            F.containers[: F.containers.index(name)]
        )
        thumb = data[F.thumbnail]
        if thumb:
            thumb_sha = hashlib.sha256((clinic_dir / thumb).read_bytes()).hexdigest()
            assert oracle["thumbnail_sha256"] == thumb_sha
        else:
            assert oracle["thumbnail_sha256"] is None


def test_expected_defects_match_the_records(image_records, expected):
    for rid, data in enumerate(image_records, start=1):
        oracle = expected["records"][str(rid)]
        defects = set(oracle["defects"])
        assert ("undated" in defects) == (data[F.date] == "")
        assert ("missing_contact" in defects) == (not oracle["contact_exists"])
        assert ("thumbnail_empty" in defects) == (data[F.thumbnail] == "")
        assert ("png" in defects) == (data[F.containers[4]].endswith(".png"))
        filled = [name for name in F.containers if data[name]]
        if "all_empty" in defects:
            assert filled == []
        elif "only_small_sizes" in defects:
            assert set(filled) <= {F.containers[3], F.containers[4]}
        elif "full_empty" in defects:
            assert F.containers[0] not in filled
            assert F.containers[4] in filled
        else:
            assert filled == list(F.containers)
        if "full_truncated" in defects:
            assert oracle["passed_over"] == {F.containers[0]: "truncated"}
        if "full_not_image" in defects:
            assert oracle["passed_over"] == {F.containers[0]: "not_image"}


def test_planted_defects_come_in_the_requested_shares(expected):
    counts = expected["summary"]["defects"]
    for name in SHARES:
        assert counts[name] >= 1, name
        if name != "missing_contact":
            assert counts[name] == share(SHARED_IMAGES, name), name
    assert 1 <= counts["missing_contact"] <= share(SHARED_IMAGES, "missing_contact")
    outcomes = expected["summary"]["outcomes"]
    assert sum(outcomes.values()) == SHARED_IMAGES
    assert outcomes["skipped"] == counts["all_empty"]
    assert outcomes["imported_unlinked"] > 0
    assert expected["summary"]["content_types"]["image/png"] == counts["png"]


def test_expected_summary_adds_up(expected):
    summary = expected["summary"]
    records = expected["records"].values()
    for outcome, count in summary["outcomes"].items():
        assert count == sum(r["outcome"] == outcome for r in records)
    for name, count in summary["fields"].items():
        assert count == sum(r["field"] == name for r in records)
    assert summary["images"] == SHARED_IMAGES
    assert summary["seed"] == SHARED_SEED
    assert 0 < summary["batches"] < summary["outcomes"]["imported"]


def test_expected_json_holds_no_personal_data(clinic_dir, contact_records):
    text = (clinic_dir / "expected.json").read_text(encoding="utf-8")
    for contact in contact_records:
        for name in (C.first_name, C.last_name, C.date_of_birth):
            assert f'"{contact[name]}"' not in text
    assert account_password(SHARED_SEED) not in text


def test_imagecheck_agrees_with_expected(clinic_dir, image_records, expected):
    """The migration's own integrity check sees the planted defects the same way."""
    from filemaker_migration.imagecheck import InvalidImageError
    from filemaker_migration.imagecheck import inspect_image

    for rid, data in enumerate(image_records, start=1):
        oracle = expected["records"][str(rid)]
        if oracle["passed_over"].get(F.containers[0], "empty") == "empty":
            continue
        full = clinic_dir / data[F.containers[0]]
        with full.open("rb") as fh, pytest.raises(InvalidImageError):
            inspect_image(fh)
        with (clinic_dir / data[oracle["field"]]).open("rb") as fh:
            assert inspect_image(fh).type.content_type == oracle["content_type"]


def test_generate_same_seed_same_bytes_other_seed_differs(tmp_path):
    first = generate_dataset(tmp_path / "a", images=120, seed=11)
    # Draw the pictures again too, as a fresh process would.
    generate._pools.cache_clear()
    generate_dataset(tmp_path / "b", images=120, seed=11)
    generate_dataset(tmp_path / "c", images=120, seed=12)
    a, b, c = (_tree_hashes(tmp_path / n) for n in "abc")
    assert a == b
    assert len(a) == first.files + 5  # + marker, 2 record files, expected, dataset
    for name in ("dataset.json", "expected.json", "records/API_Images.jsonl"):
        assert a[name] != c[name]


def test_generate_refuses_non_empty_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(GenerateError, match=re.escape(str(tmp_path))):
        generate_dataset(tmp_path, images=5)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_generate_refuses_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(GenerateError, match="not a directory"):
        generate_dataset(target, images=5)


def test_generate_force_replaces_a_foreign_directory(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "notes.txt").write_text("x")
    generate_dataset(tmp_path, images=5, force=True)
    assert not (tmp_path / "old").exists()
    assert load_dataset(tmp_path).database == "Clinic"


def test_generate_replaces_a_previous_dataset(tmp_path):
    generate_dataset(tmp_path, images=30, seed=1)
    summary = generate_dataset(tmp_path, images=10, seed=2)
    assert summary.images == 10
    files = [p for p in (tmp_path / "containers").rglob("*") if p.is_file()]
    assert len(files) == summary.files


def test_generate_half_written_directory_has_no_dataset_json(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "write_dataset_json", crash)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(tmp_path, images=10)
    assert (tmp_path / "generator.json").exists()
    assert not (tmp_path / "dataset.json").exists()
    monkeypatch.undo()
    # A half-written dataset is ours: it is replaced without --force.
    generate_dataset(tmp_path, images=10)
    assert (tmp_path / "dataset.json").exists()


def test_generate_uses_overridden_field_names(tmp_path):
    fields = ImageFields.with_overrides(
        {"type": "Category", "containers": ["F1", "F2", "F3", "F4", "F5"]}
    )
    contacts = ContactFields(first_name="Given", last_name="Family")
    generate_dataset(tmp_path, images=20, image_fields=fields, contact_fields=contacts)
    ds = load_dataset(tmp_path)
    assert ds.layouts["API_Images"].container_fields == (
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "Recovered",
    )
    _, data = next(ds.iter_records("API_Images"))
    assert data["Category"] in IMAGE_TYPES
    _, contact = next(ds.iter_records("API_Contacts"))
    assert set(contact) == {"id", "Given", "Family", "Date of Birth"}


def test_generate_rejects_zero_images(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        generate_dataset(tmp_path, images=0)
