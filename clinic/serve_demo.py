"""Serve the demo's migrated clinic in a browser, after `make demo`.

    python -m clinic.serve_demo [--port 8000] [--workers 8]

`make demo` imports into moto's S3 server, which keeps objects in memory and
is gone when the demo ends; only the SQLite database, the ledger and the
report remain under var/demo/. So this starts a new local S3 server (moto,
in-process, on loopback), re-creates the private, encrypted bucket and puts
back every object the demo exported, read from the synthetic clinic's files:
the ledger says which FileMaker record and container field each object came
from, and every file's SHA-256 must match the ledger's before it is stored.
It makes the display and thumbnail derivatives, creates (or resets) a staff
account `staff` whose password is printed once (or taken from
DEMO_STAFF_PASSWORD), and runs Django's server on 127.0.0.1 until Ctrl-C.

Nothing here is for production: it serves demo data with Django's
development server.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--state-dir", type=Path, default=BASE_DIR / "var" / "demo")
    args = parser.parse_args(argv)

    demo_dir: Path = args.state_dir
    database = demo_dir / "db.sqlite3"
    dataset = _dataset_dir(demo_dir)
    if not database.exists() or dataset is None:
        print(f"No demo under {demo_dir}: run `make demo` first.", file=sys.stderr)
        return 2

    from moto.server import ThreadedMotoServer

    from clinic.demo import BUCKET
    from clinic.demo import REGION
    from clinic.demo import _create_bucket

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    try:
        host, port = s3.get_host_and_port()
        s3_url = f"http://{host}:{port}"
        _create_bucket(s3_url)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DATABASE_URL": f"sqlite:///{database}",
                "MIGRATION_STATE_DIR": str(demo_dir),
                "S3_BUCKET": BUCKET,
                "S3_ENDPOINT_URL": s3_url,
                "S3_REGION": REGION,
                "S3_ACCESS_KEY_ID": "demo-access-key",
                "S3_SECRET_ACCESS_KEY": "demo-secret-key",
            }
        )
        import django

        django.setup()
        print(f"Local S3 server: {s3_url} (bucket {BUCKET})")
        print(f"Restoring the demo's objects from {dataset} ...")
        objects, derived = restore_objects(dataset, workers=args.workers)
        print(f"  {objects} objects stored, derivatives made for {derived} images")
        password = _staff_account()
        _print_welcome(args.port, password)

        from django.core.management import call_command

        call_command("runserver", f"127.0.0.1:{args.port}", "--noreload", "--insecure")
        return 0
    finally:
        s3.stop()


def _dataset_dir(demo_dir: Path) -> Path | None:
    found = sorted(
        demo_dir.glob("clinic-*/dataset.json"), key=lambda p: p.stat().st_mtime
    )
    return found[-1].parent if found else None


def restore_objects(dataset_dir: Path, *, workers: int) -> tuple[int, int]:
    """Put back every exported object, and the derivatives of linked images."""
    from django.conf import settings

    from clinic.images.models import Image
    from filemaker_migration.conf import object_store
    from filemaker_migration.dataset.format import load_dataset
    from filemaker_migration.derivative_store import store_derivatives
    from filemaker_migration.models import EXPORTED_STATES
    from filemaker_migration.models import LedgerEntry

    dataset = load_dataset(dataset_dir)
    layout = settings.FILEMAKER["LAYOUT"]
    files = {str(rid): data for rid, data in dataset.iter_records(layout)}
    store = object_store(max_pool=workers)
    entries = list(
        LedgerEntry.objects.filter(state__in=EXPORTED_STATES)
        .exclude(s3_key="")
        .values("record_id", "container_field", "s3_key", "sha256", "content_type")
    )
    linked = set(Image.objects.values_list("s3_key", flat=True))

    def restore(entry: dict) -> tuple[str, tuple[str, str] | None]:
        path = dataset.root / files[entry["record_id"]][entry["container_field"]]
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise SystemExit(
                f"record {entry['record_id']}: {path.name} no longer matches the "
                "ledger's SHA-256; run `make demo` again"
            )
        store.put_create_only(
            entry["s3_key"],
            io.BytesIO(data),
            sha256=entry["sha256"],
            content_type=entry["content_type"],
        )
        if entry["s3_key"] not in linked:
            return entry["s3_key"], None
        return entry["s3_key"], store_derivatives(store, entry["s3_key"], data)

    keys: dict[str, tuple[str, str]] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, (key, made) in enumerate(pool.map(restore, entries), start=1):
            if made:
                keys[key] = made
            if done % 500 == 0:
                print(f"  {done}/{len(entries)} objects", flush=True)
    images = list(Image.objects.filter(s3_key__in=keys))
    for image in images:
        image.thumbnail_key, image.display_key = keys[image.s3_key]
    Image.objects.bulk_update(images, ["thumbnail_key", "display_key"], batch_size=500)
    return len(entries), len(images)


def _staff_account() -> str:
    from django.contrib.auth import get_user_model

    password = os.environ.get("DEMO_STAFF_PASSWORD") or secrets.token_urlsafe(12)
    user, _ = get_user_model().objects.get_or_create(username="staff")
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return password


def _print_welcome(port: int, password: str) -> None:
    from filemaker_migration.models import ImportRun

    base = f"http://127.0.0.1:{port}"
    run = ImportRun.objects.filter(command="import_filemaker_images").first()
    print()
    print(f"Log in as staff / {password}")
    print(f"  gallery: {base}/gallery/")
    print(f"  admin:   {base}/admin/")
    if run is not None:
        print(f"  report:  {base}/reports/runs/{run.pk}/")
    print("Ctrl-C stops the server and the local S3 server (its objects go with it).")
    print()
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
