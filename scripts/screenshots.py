"""Screenshots of the gallery, the run report and the admin for docs/screenshots/.

Run `make serve` (after `make demo`) in one terminal, then:

    DEMO_STAFF_PASSWORD=... .venv/bin/python scripts/screenshots.py

It uses the browser tests' setup: Debian's Chromium driven by Playwright. The
names shown are the synthetic clinic's, made up by the generator.
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

ALL_IMAGES = "[...document.images].every(i => i.complete)"
# Pages full of photographs as JPEG: as PNG they weigh megabytes in the repository.
PHOTOS = {"type": "jpeg", "quality": 80}
# Lazy images below the fold would never load for a full-page screenshot.
EAGER = "document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading='eager')"


def pick(database: Path) -> tuple[str, str, int]:
    """The patient with the most images, the commonest surname, the last run."""
    with sqlite3.connect(database) as db:
        (patient,) = db.execute(
            """
            select b.patient_id from images_imagebatch b
            join images_image i on i.batch_id = b.id
            group by b.patient_id order by count(i.id) desc, b.patient_id limit 1
            """
        ).fetchone()
        (surname,) = db.execute(
            "select last_name from patients_patient group by last_name "
            "order by count(*) desc, last_name limit 1"
        ).fetchone()
        (run,) = db.execute(
            "select id from filemaker_importrun "
            "where command = 'import_filemaker_images' order by started_at desc limit 1"
        ).fetchone()
    # SQLite holds Django UUIDs as 32 hex digits.
    return str(uuid.UUID(patient)), surname, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--database", type=Path, default=BASE_DIR / "var/demo/db.sqlite3"
    )
    parser.add_argument("--out", type=Path, default=BASE_DIR / "docs/screenshots")
    args = parser.parse_args()
    password = os.environ["DEMO_STAFF_PASSWORD"]
    patient, surname, run = pick(args.database)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{args.url}/admin/login/?next=/gallery/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url("**/gallery/")

        page.fill("input[name=q]", surname)
        page.click("#search-button")
        page.wait_for_selector("#result-count")
        page.screenshot(path=out / "search.png")

        gallery = f"{args.url}/gallery/patients/{patient}/"
        page.goto(gallery)
        page.evaluate(EAGER)
        page.wait_for_function(ALL_IMAGES)
        page.screenshot(path=out / "gallery.jpg", **PHOTOS, full_page=True)

        page.locator("a.viewer-item").nth(1).click()
        page.wait_for_function(
            "() => document.querySelector('.viewer-image').naturalWidth > 0"
        )
        page.screenshot(path=out / "lightbox.jpg", **PHOTOS)
        page.keyboard.press("Escape")

        page.goto(f"{gallery}compare/")
        page.wait_for_function(ALL_IMAGES)
        page.screenshot(path=out / "compare.jpg", **PHOTOS)

        phone = browser.new_page(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        phone.context.add_cookies(page.context.cookies())
        phone.goto(gallery)
        phone.evaluate(EAGER)
        phone.wait_for_function(ALL_IMAGES)
        phone.screenshot(path=out / "gallery-phone.jpg", **PHOTOS)

        page.goto(f"{args.url}/reports/runs/{run}/")
        page.screenshot(path=out / "run-report.png", full_page=True)
        page.goto(f"{args.url}/reports/runs/{run}/?reason=patient_not_found#attention")
        page.evaluate(EAGER)
        page.wait_for_function(ALL_IMAGES)
        page.screenshot(path=out / "run-report-unlinked.png")

        page.goto(f"{args.url}/reports/runs/{run}/spot-check/")
        page.wait_for_function(ALL_IMAGES)
        page.click("#tick-all")
        for box in page.locator("input[name=approved]").all()[:2]:
            box.uncheck()
        page.click("#sign-off")
        page.wait_for_selector("#confirm-flag[open]")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=out / "spot-check.jpg", **PHOTOS)

        page.goto(f"{args.url}/admin/filemaker/reviewitem/")
        page.click("#toggle-nav-sidebar")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=out / "review-queue.png")
        browser.close()
    names = sorted(p.name for p in out.iterdir() if p.suffix in (".png", ".jpg"))
    sys.stdout.write(f"wrote {', '.join(names)} to {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
