"""Memory under hostile pictures: the importer's peak RSS against its decode budget.

    python -m bench.memory [--pictures 20] [--megapixels 88] [--workers 16]
                           [--budgets 128,400]

Writes a FileMaker file of `--pictures` records whose image_Full is a PNG
declaring 9400 x 9400 pixels (88 MP, just under the 90 MP guard of
imagecheck.py) in ~1 MB, each with unique bytes, and a small JPEG in
image_Ex_large; every record's patient exists, so each picture is checked and
made into the gallery's JPEGs (the heavier path). A second file has the same
records with only the small JPEG: the importer's own memory, the "fixed
overhead". Then imports each with `--workers` workers once per decode budget
(FM_DECODE_BUDGET_MEGAPIXELS), each into fresh FileMaker state, bucket and
database (bench/run.py's harness, LAN profile), and prints per run the
outcomes with their reasons, the importer's peak RSS (the kernel's rusage of
that process) and that peak against the overhead plus the budget's pixels
at 4 bytes each (decode_budget.py). Not a timed test: the figure goes to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import struct
import sys
import zlib
from collections import Counter
from pathlib import Path

from bench.run import BASE_DIR
from bench.run import Bench
from bench.run import Measurement

PATIENT = "0E5C1E32-6F4C-4C4B-9A1D-5B1C8A2E7F10"
SEED = 3  # the harness derives the api account's password from it


def large_png(megapixels: float) -> bytes:
    """A mostly flat RGB picture: hundreds of MB decoded from ~1 MB of file."""
    from PIL import Image
    from PIL import ImageDraw

    side = math.isqrt(int(megapixels * 1_000_000))
    image = Image.new("RGB", (side, side), (200, 180, 160))
    draw = ImageDraw.Draw(image)
    for x in range(0, side, 400):
        draw.line([(x, 0), (side - x, side)], fill=(x % 255, 40, 90), width=9)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def with_text(png: bytes, text: str) -> bytes:
    """The same picture with a tEXt chunk after IHDR: unique bytes, no re-encode."""
    data = b"Comment\0" + text.encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + data))
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR's length and type, data, CRC
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def small_jpeg(number: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (number % 255, 120, 60)).save(out, "JPEG")
    return out.getvalue()


def write_dataset(root: Path, pictures: int, megapixels: float, large: bool) -> None:
    from filemaker_migration.dataset.format import write_dataset_json
    from filemaker_migration.dataset.generate import account_password
    from filemaker_migration.dataset.generate import contacts_layout
    from filemaker_migration.dataset.generate import images_layout
    from filemaker_migration.fields import ImageFields

    fields = ImageFields()
    (root / "records").mkdir(parents=True, exist_ok=True)
    (root / "files").mkdir(exist_ok=True)
    png = large_png(megapixels) if large else b""
    lines = []
    for number in range(1, pictures + 1):
        data = {f.name: "" for f in images_layout().fields if f.type != "calculation"}
        data.update(
            {
                fields.id: f"{number:08X}-0000-4000-8000-000000000000",
                fields.contact_id: PATIENT,
                fields.type: "Left Dorsal",
                fields.date: "01/02/2020",
                fields.filename: f"picture-{number}.{'png' if large else 'jpg'}",
                fields.recid: number,
            }
        )
        jpeg = Path("files") / f"{number}-small.jpg"
        (root / jpeg).write_bytes(small_jpeg(number))
        if large:
            path = Path("files") / f"{number}-large.png"
            (root / path).write_bytes(with_text(png, f"picture {number}"))
            data[fields.containers[0]] = str(path)
            data[fields.containers[1]] = str(jpeg)
        else:
            data[fields.containers[0]] = str(jpeg)
        lines.append(json.dumps(data))
    (root / "records" / "API_Images.jsonl").write_text("\n".join(lines) + "\n")
    contact = {"id": PATIENT, "First Name": "Bench", "Last Name": "Memory"}
    (root / "records" / "API_Contacts.jsonl").write_text(
        json.dumps({**contact, "Date of Birth": ""}) + "\n"
    )
    write_dataset_json(
        root,
        database="Clinic",
        accounts={"api": account_password(SEED)},
        layouts=[images_layout(), contacts_layout()],
    )


def dataset(pictures: int, megapixels: float, large: bool) -> Path:
    kind = f"{megapixels:g}mp" if large else "small"
    path = BASE_DIR / "var" / "bench" / f"hostile-{pictures}x{kind}"
    if not (path / "dataset.json").exists():
        write_dataset(path, pictures, megapixels, large)
    return path


def outcomes(bench: Bench) -> str:
    """Outcomes and reasons of the harness's last import (its report)."""
    report = json.loads((bench.work / f"run{bench.runs}" / "report.json").read_text())
    seen = Counter(
        f"{r['outcome']}"
        + (f" ({r['reason']})" if r["reason"] else "")
        + (f" from {r['container_field']}" if r["container_field"] else "")
        for r in report["records"]
    )
    return ", ".join(f"{n} {what}" for what, n in sorted(seen.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description="Peak RSS under large pictures")
    parser.add_argument("--pictures", type=int, default=20)
    parser.add_argument("--megapixels", type=float, default=88)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--budgets",
        default="128,400",
        help="decode budgets to run, megapixels, comma-separated",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    harness = argparse.Namespace(seed=SEED, profile="lan")
    budgets = [float(b) for b in args.budgets.split(",")]

    bench = Bench(harness)
    rows: list[tuple[str, Measurement, str]] = []
    try:
        small = dataset(args.pictures, args.megapixels, large=False)
        large = dataset(args.pictures, args.megapixels, large=True)
        base = bench.scenario(
            "small JPEGs only", small, workers=args.workers, limit=None
        )
        rows.append(("—", base, outcomes(bench)))
        for budget in budgets:
            os.environ["FM_DECODE_BUDGET_MEGAPIXELS"] = str(budget)
            name = f"{args.pictures} x {args.megapixels:g} MP PNG"
            measured = bench.scenario(name, large, workers=args.workers, limit=None)
            rows.append((f"{budget:g}", measured, outcomes(bench)))
    finally:
        os.environ.pop("FM_DECODE_BUDGET_MEGAPIXELS", None)
        bench.close()

    overhead = base.peak_rss_mb or 0.0
    print(f"{args.workers} workers, {os.cpu_count()} cores")
    print(
        "| dataset | budget (MP) | outcomes | seconds | importer peak RSS "
        "| overhead + budget x 4 B |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for budget, m, seen in rows:
        bound = "—"
        if budget != "—":
            limit = overhead + float(budget) * 4
            verdict = "under" if (m.peak_rss_mb or 0) <= limit else "OVER"
            bound = f"{limit:.0f} MB ({verdict})"
        print(
            f"| {m.name} | {budget} | {seen} | {m.seconds:.1f} "
            f"| {m.peak_rss_mb:.0f} MB | {bound} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
