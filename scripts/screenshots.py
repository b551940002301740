"""Screenshots of the gallery and the run report for docs/screenshots/.

Run `make serve` (after `make demo`) in one terminal, then:

    DEMO_STAFF_PASSWORD=... .venv/bin/python scripts/screenshots.py

It uses the browser tests' setup: Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import uuid
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from tests.web.chromium import launch  # noqa: E402


def pick(database: Path) -> tuple[str, int]:
    """A patient with several dated batches, and the latest import run."""
    with sqlite3.connect(database) as db:
        (patient,) = db.execute(
            """
            select b.patient_id from images_imagebatch b
            join images_image i on i.batch_id = b.id
            where b.captured_date is not null
            group by b.patient_id
            having count(distinct b.id) between 3 and 4
            order by count(i.id) desc, b.patient_id limit 1
            """
        ).fetchone()
        (run,) = db.execute(
            "select id from filemaker_importrun "
            "where command = 'import_filemaker_images' order by started_at desc limit 1"
        ).fetchone()
    # SQLite holds Django UUIDs as 32 hex digits.
    return str(uuid.UUID(patient)), run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--database", type=Path, default=BASE_DIR / "var/demo/db.sqlite3"
    )
    parser.add_argument("--out", type=Path, default=BASE_DIR / "docs/screenshots")
    args = parser.parse_args()
    password = os.environ["DEMO_STAFF_PASSWORD"]
    patient, run = pick(args.database)
    patient = (
        patient
        if "-" in patient
        else (
            f"{patient[:8]}-{patient[8:12]}-{patient[12:16]}-{patient[16:20]}-{patient[20:]}"
        )
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{args.url}/admin/login/?next=/gallery/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url("**/gallery/")

        page.goto(f"{args.url}/gallery/patients/{patient}/")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        page.screenshot(path=args.out / "gallery.png", full_page=True)

        page.goto(f"{args.url}/reports/runs/{run}/")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        page.screenshot(path=args.out / "run-report.png")
        page.locator("#spot-check").scroll_into_view_if_needed()
        page.screenshot(path=args.out / "contact-sheet.png")
        browser.close()
    sys.stdout.write(
        f"wrote gallery.png, run-report.png, contact-sheet.png to {args.out}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
