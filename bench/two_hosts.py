"""Two hosts on one PostgreSQL database: a run with worker processes, and a joiner.

    python -m bench.two_hosts --server-url postgres://postgres@127.0.0.1:54339/postgres
                              [--images 2000] [--workers 16] [--processes 2]
                              [--profile wan|lan] [--json FILE]

Simulates two hosts on this machine: a second command,
`import_filemaker_images --join --workers 16`, is started first and waits
for a run; then `import_filemaker_images --processes 2 --workers 16` starts
the run. Both see one fresh PostgreSQL database (created on --server-url's
server, dropped after), one FileMaker emulator and one S3 server (bench/run.py's
harness: its emulator profile, its S3 server, its dataset). Reported: the
run's images/s (its own clock), each worker's records from the report's
"workers", the joiner's own line, each command's CPU, and the verdict of
`verify_filemaker_images` with the same environment.

A PostgreSQL server to point it at, on a port of its own (the test suite's
scripts/test.sh uses 54329 and removes its directory when it starts):

    PG_PORT=54339 PG_DIR=/tmp/bench-two-hosts-pg bash -c \\
        'source scripts/postgres.sh && start_postgres'
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from bench.run import BASE_DIR
from bench.run import MANAGE
from bench.run import PROFILES
from bench.run import Bench
from bench.run import run_measured

# How long the joiner is given to reach its wait before the run starts, so
# that it is the host started first and waits for the run (--join's wait).
JOINER_HEAD_START = 5.0


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(server_url: str, name: str) -> None:
    import psycopg

    # CREATE/DROP DATABASE cannot run in a transaction.
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, MANAGE, *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def two_hosts(bench: Bench, dataset: Path, database_url: str) -> dict:
    args = bench.args
    run_dir = bench.work / "two-hosts"
    run_dir.mkdir()
    emulator, url, ca = bench.start_emulator(dataset, run_dir / "fm-state")
    try:
        bucket = f"two-hosts-{os.getpid()}"
        env = bench.env(url, ca, bucket, run_dir / "unused.sqlite3")
        # Both commands share one database, as two hosts would; unbuffered,
        # so the joiner's lines are in order with its exit.
        env.update(DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
        bench.create_bucket(bucket)
        manage("migrate", "-v0", env=env)
        manage("import_filemaker_patients", env=env)
        report = run_dir / "report.json"
        workers = ["--workers", str(args.workers)]
        with ThreadPoolExecutor(max_workers=1) as pool:
            joiner = pool.submit(
                run_measured,
                [sys.executable, MANAGE, "import_filemaker_images", "--join", *workers],
                env,
            )
            time.sleep(JOINER_HEAD_START)
            started = time.monotonic()
            _, _, run_cpu, run_out = run_measured(
                [
                    sys.executable,
                    MANAGE,
                    "import_filemaker_images",
                    "--processes",
                    str(args.processes),
                    *workers,
                    "--report",
                    str(report),
                ],
                env,
            )
            _, _, join_cpu, join_out = joiner.result()
            wall = time.monotonic() - started
        verify = manage("verify_filemaker_images", env=env)
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    data = json.loads(report.read_text())
    exported = data["totals"]["imported"] + data["totals"]["imported_unlinked"]
    return {
        "exported": exported,
        "totals": data["totals"],
        "seconds": data["run"]["seconds"],
        "images_per_second": exported / data["run"]["seconds"],
        "wall_seconds_until_both_ended": wall,
        "workers": data.get("workers", []),
        "cpu_seconds": {"run": run_cpu, "joiner": join_cpu},
        "joiner_output": join_out.strip().splitlines()[-3:],
        "run_summary": run_out.strip().splitlines()[-6:],
        "verify": verify.strip().splitlines(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Two hosts on one database")
    parser.add_argument(
        "--server-url",
        default="postgres://postgres@127.0.0.1:54339/postgres",
        help="a PostgreSQL server's maintenance database; a fresh database is "
        "created beside it and dropped after",
    )
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="wan")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    name = f"clinic_two_hosts_{os.getpid()}"
    create_database(args.server_url, name)
    bench = Bench(args)
    try:
        dataset = bench.dataset(args.images)
        result = two_hosts(bench, dataset, with_database(args.server_url, name))
    finally:
        bench.close()
        drop_database(args.server_url, name)
    print(f"profile: {args.profile}, dataset seed {args.seed}, {os.cpu_count()} cores")
    print(
        f"run: {result['exported']} images in {result['seconds']:.1f} s = "
        f"{result['images_per_second']:.1f} images/s (its own clock); CPU s: "
        f"run {result['cpu_seconds']['run']:.1f} (with its forked workers), "
        f"joiner {result['cpu_seconds']['joiner']:.1f}"
    )
    for worker in result["workers"]:
        print(
            f"worker {worker['worker']}: {worker['records']} records, "
            f"{worker['lost']} lost"
        )
    print("joiner:", *result["joiner_output"], sep="\n  ")
    print("verify:", *result["verify"], sep="\n  ")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
