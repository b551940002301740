"""The embedded demo: the whole migration on a laptop, from one command.

    python -m clinic.demo [--images 6664] [--seed 1] [--workers 16]

Generates the synthetic clinic (once; kept under var/demo/), serves it with
the FileMaker emulator (HTTPS, its own CA), starts a local S3 server (moto, on
loopback), then runs migrate, import_filemaker_patients and
import_filemaker_images exactly as a user would against real servers, and stops
what it started. Each demo starts from fresh FileMaker state, bucket and
database, so it can be run again and again.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BUCKET = "clinic-demo-images"
REGION = "ap-southeast-2"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6664)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--state-dir", type=Path, default=BASE_DIR / "var" / "demo")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    demo_dir: Path = args.state_dir
    dataset = demo_dir / f"clinic-{args.images}-seed{args.seed}"
    demo_dir.mkdir(parents=True, exist_ok=True)
    if not (dataset / "dataset.json").exists():
        print(
            f"Generating the synthetic clinic ({args.images} images) in {dataset} ..."
        )
        started = time.monotonic()
        _manage(
            os.environ.copy(),
            "generate_filemaker_dataset",
            "--out",
            str(dataset),
            "--images",
            str(args.images),
            "--seed",
            str(args.seed),
            "--force",
        )
        print(f"  generated in {time.monotonic() - started:.0f} s")
    # A fresh rehearsal every time: FileMaker's edits and the database go.
    shutil.rmtree(dataset / "state", ignore_errors=True)
    database = demo_dir / "db.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)

    from moto.server import ThreadedMotoServer

    # moto's server logs every request; the demo's output is the import's.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    emulator = None
    try:
        host, port = s3.get_host_and_port()
        s3_url = f"http://{host}:{port}"
        _create_bucket(s3_url)
        emulator, fm_url, ca_bundle = _start_emulator(dataset)
        print(f"FileMaker emulator: {fm_url} (CA bundle {ca_bundle})")
        print(f"Local S3 server:    {s3_url} (bucket {BUCKET})")
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{database}",
            "MIGRATION_STATE_DIR": str(demo_dir),
            "FM_URL": fm_url,
            "FM_DATABASE": "Clinic",
            "FM_ACCOUNT": "api",
            "FM_PASSWORD": _password(args.seed),
            "FM_CA_BUNDLE": ca_bundle,
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": s3_url,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": "demo-access-key",
            "S3_SECRET_ACCESS_KEY": "demo-secret-key",
        }
        _manage(env, "migrate", "--verbosity", "0")
        _manage(env, "import_filemaker_patients")
        started = time.monotonic()
        code = _manage(
            env,
            "import_filemaker_images",
            "--workers",
            str(args.workers),
            "--report",
            str(demo_dir / "import-report.json"),
            check=False,
        )
        print(f"Import wall time: {time.monotonic() - started:.1f} s")
        return code
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait(timeout=30)
        s3.stop()


def _manage(env: dict[str, str], *command: str, check: bool = True) -> int:
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *command], env=env, check=False
    )
    if check and done.returncode:
        raise SystemExit(f"manage.py {command[0]} failed (exit {done.returncode})")
    return done.returncode


def _start_emulator(dataset: Path) -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(BASE_DIR / "manage.py"),
            "filemaker_emulator",
            "--dataset",
            str(dataset),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = ca_bundle = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("URL "):
            url = line.split(" ", 1)[1].strip()
        elif line.startswith("CA_BUNDLE "):
            ca_bundle = line.split(" ", 1)[1].strip()
        if url and ca_bundle:
            return proc, url, ca_bundle
    proc.wait()
    raise SystemExit("the FileMaker emulator did not start (see its output above)")


def _create_bucket(s3_url: str) -> None:
    from filemaker_migration.s3store import ObjectStore
    from filemaker_migration.s3store import StoreSettings

    settings = StoreSettings(
        bucket=BUCKET,
        endpoint_url=s3_url,
        region=REGION,
        access_key_id="demo-access-key",
        secret_access_key="demo-secret-key",
    )
    ObjectStore(settings).create_private_bucket()


def _password(seed: int) -> str:
    from filemaker_migration.dataset.generate import account_password

    return account_password(seed)


if __name__ == "__main__":
    sys.exit(main())
