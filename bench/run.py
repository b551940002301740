"""Throughput benchmark: the import against the source's ceiling, side by side.

    python -m bench.run [--images 2000] [--workers 16] [--sequential-limit 300]
                        [--processes 2] [--profile wan|lan] [--scale]
                        [--json FILE]

Starts the FileMaker emulator (with a "WAN" profile: 50 ms per Data API call,
100 ms container time-to-first-byte, 8 MB/s per stream, 80 MB/s in all) and
moto's S3 (served with keep-alive, bench/s3server.py), each in its own process,
then measures in one run:

  (a) the import with --workers 1 (on the first --sequential-limit records),
  (b) the import with the default workers,
  (c) the source ceiling: the same containers downloaded with the same
      concurrency and client, nothing else done (bench/ceiling.py),
  (d) the import with --processes N (default 2) and the default workers.

(a) and (b) pass --processes 1, so that the command's default ("auto", one
process per core) never changes what they measure. Each import gets fresh
FileMaker state, a fresh bucket and a fresh SQLite database. Reported:
images/s, MB/s, the importer's peak RSS (from the kernel's rusage of that
process; for (d) the largest single process, the kernel keeps a maximum, not
a sum), and the ratios b/a, d/a, d/b, b/c and d/c. With --scale, the import (b)
also runs on 10x the images, to show time grows linearly and RSS does not.
Absolute figures are this machine's; the ratios are the claim.

Also reported, to tell waiting from working: the CPU time per image of the
measured process (the importer or the ceiling's downloader, start-up
included), of the emulator and of the S3 server, and the "machine bound":
the images/s this machine would reach if all its cores did nothing but that
work. A run near its machine bound is limited by the CPU, not by waiting;
each row's "share" is its images/s divided by its machine bound. The
machine's CPU used meanwhile by every other process (from /proc/stat) is
reported too, per image: the machine bound assumes it is nothing. The
importer's CPU of (d) includes its forked workers: wait4 reports a child's
usage together with its descendants that it reaped, and the command joins
its workers before it exits. As a check, (d)'s importer CPU per image is
printed over (b)'s (the same work per image): well under 1 would mean the
workers' CPU went uncounted.

Last, what (d) would reach on 8 cores by the same CPU arithmetic with S3 and
FileMaker remote (their CPU off the importer's machine): 8 / the importer's
CPU seconds per image. Arithmetic, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
MANAGE = str(BASE_DIR / "manage.py")
REGION = "ap-southeast-2"
PROCESSES = ("client", "filemaker", "s3")
# The cores of the larger machine that the CPU arithmetic projects onto.
PROJECTED_CORES = 8
# Below this fraction of (b)'s importer CPU per image, (d)'s figure most
# likely misses its forked workers' CPU rather than being that much cheaper.
CPU_ACCOUNTING_FLOOR = 0.75
PROFILES = {
    "wan": [
        "--latency-ms",
        "50",
        "--container-ttfb-ms",
        "100",
        "--stream-bytes-per-sec",
        str(8_000_000),
        "--total-bytes-per-sec",
        str(80_000_000),
    ],
    "lan": [],
}


@dataclass
class Measurement:
    name: str
    records: int
    bytes: int
    seconds: float
    peak_rss_mb: float | None
    # CPU seconds used during the run by the measured process (the importer
    # or the ceiling's downloader), the emulator and the S3 server, and by
    # every other process of the machine meanwhile ("other").
    cpu: dict[str, float]
    # The importer's CPU seconds by part, from its report (pipeline/cpu.py);
    # empty for the ceiling, which is not the importer.
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.records / self.seconds

    def cpu_ms_per_image(self, process: str) -> float:
        return self.cpu[process] / self.records * 1000

    @property
    def machine_bound(self) -> float:
        """Images/s if every core of this machine did nothing but this work."""
        used = sum(self.cpu[process] for process in PROCESSES)
        return (os.cpu_count() or 1) * self.records / used

    @property
    def machine_share(self) -> float:
        """How much of its machine bound the run reached."""
        return self.per_second / self.machine_bound

    def projected(self, cores: int) -> float:
        """Images/s on `cores` cores doing only the importer's work."""
        return cores * self.records / self.cpu["client"]

    @property
    def mb_per_second(self) -> float:
        return self.bytes / 1e6 / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a running process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time (busy, all cores) every process has used so far (Linux).

    What the benchmark's own processes did not use of it was used by others
    on the machine meanwhile (tests, builds), which the machine bound
    assumes to be nothing.
    """
    ticks = [int(f) for f in Path("/proc/stat").read_text().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle and iowait; guest time is in user's
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def run_measured(
    cmd: list[str], env: dict[str, str]
) -> tuple[float, float, float, str]:
    """Run a process; return (seconds, peak RSS in MB, CPU seconds, stdout)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - read back after the wait
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=BASE_DIR
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode(errors="replace")
    if proc.returncode:
        raise SystemExit(
            f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{text[-3000:]}"
        )
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, cpu, text


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="clinic-bench-"))
        self.s3_port = free_port()
        self.s3 = subprocess.Popen(
            [sys.executable, "-m", "bench.s3server", "--port", str(self.s3_port)],
            cwd=BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.s3_port)
        self.runs = 0

    def close(self) -> None:
        self.s3.terminate()
        self.s3.wait(timeout=30)
        shutil.rmtree(self.work, ignore_errors=True)

    def dataset(self, images: int) -> Path:
        path = BASE_DIR / "var" / "bench" / f"clinic-{images}-seed{self.args.seed}"
        if not (path / "dataset.json").exists():
            subprocess.run(
                [
                    sys.executable,
                    MANAGE,
                    "generate_filemaker_dataset",
                    "--out",
                    str(path),
                    "--images",
                    str(images),
                    "--seed",
                    str(self.args.seed),
                    "--force",
                ],
                check=True,
            )
        return path

    def start_emulator(
        self, dataset: Path, state: Path
    ) -> tuple[subprocess.Popen, str, str]:
        proc = subprocess.Popen(
            [
                sys.executable,
                MANAGE,
                "filemaker_emulator",
                "--dataset",
                str(dataset),
                "--port",
                "0",
                "--state-dir",
                str(state),
                *PROFILES[self.args.profile],
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        url = ca = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("URL "):
                url = line.split()[1]
            elif line.startswith("CA_BUNDLE "):
                ca = line.split(" ", 1)[1].strip()
            if url and ca:
                return proc, url, ca
        raise SystemExit("emulator did not start")

    def env(self, url: str, ca: str, bucket: str, db: Path) -> dict[str, str]:
        from filemaker_migration.dataset.generate import account_password

        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{db}",
            "MIGRATION_STATE_DIR": str(db.parent),
            "FM_URL": url,
            "FM_DATABASE": "Clinic",
            "FM_ACCOUNT": "api",
            "FM_PASSWORD": account_password(self.args.seed),
            "FM_CA_BUNDLE": ca,
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": "bench",
            "S3_SECRET_ACCESS_KEY": "bench",
        }

    def scenario(
        self,
        name: str,
        dataset: Path,
        *,
        workers: int,
        limit: int | None,
        ceiling: bool = False,
        processes: int = 1,
    ) -> Measurement:
        self.runs += 1
        run_dir = self.work / f"run{self.runs}"
        run_dir.mkdir()
        emulator, url, ca = self.start_emulator(dataset, run_dir / "fm-state")
        try:
            bucket = f"bench-{self.runs}-{os.getpid()}"
            env = self.env(url, ca, bucket, run_dir / "db.sqlite3")
            self.create_bucket(bucket)
            limit_args = ["--limit", str(limit)] if limit else []
            if ceiling:
                servers = self.server_cpu(emulator)
                _, _, client_cpu, out = run_measured(
                    [
                        sys.executable,
                        "-m",
                        "bench.ceiling",
                        "--dataset",
                        str(dataset),
                        "--workers",
                        str(workers),
                        *limit_args,
                    ],
                    env,
                )
                result = json.loads(out.strip().splitlines()[-1])
                return Measurement(
                    name,
                    result["records"],
                    result["bytes"],
                    result["seconds"],
                    None,
                    self.cpu_used(emulator, servers, client_cpu),
                )
            subprocess.run(
                [sys.executable, MANAGE, "migrate", "-v0"], env=env, check=True
            )
            subprocess.run(
                [sys.executable, MANAGE, "import_filemaker_patients"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            report = run_dir / "report.json"
            servers = self.server_cpu(emulator)
            _, rss, client_cpu, _ = run_measured(
                [
                    sys.executable,
                    MANAGE,
                    "import_filemaker_images",
                    "--workers",
                    str(workers),
                    # Always explicit: the command's default follows the cores.
                    "--processes",
                    str(processes),
                    "--report",
                    str(report),
                    *limit_args,
                ],
                env,
            )
            data = json.loads(report.read_text())
            exported = data["totals"]["imported"] + data["totals"]["imported_unlinked"]
            # The import's own clock (from its first page to its report),
            # without the interpreter's and Django's start-up.
            return Measurement(
                name,
                exported,
                data["bytes"],
                data["run"]["seconds"],
                rss,
                self.cpu_used(emulator, servers, client_cpu),
                data.get("cpu_seconds", {}),
            )
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)

    def server_cpu(self, emulator: subprocess.Popen) -> tuple[float, float, float]:
        return (
            cpu_seconds(emulator.pid),
            cpu_seconds(self.s3.pid),
            machine_cpu_seconds(),
        )

    def cpu_used(
        self,
        emulator: subprocess.Popen,
        before: tuple[float, float, float],
        client: float,
    ) -> dict[str, float]:
        filemaker, s3, machine = self.server_cpu(emulator)
        used = {
            "client": client,
            "filemaker": filemaker - before[0],
            "s3": s3 - before[1],
        }
        return {**used, "other": max(0.0, machine - before[2] - sum(used.values()))}

    def create_bucket(self, bucket: str) -> None:
        from filemaker_migration.s3store import ObjectStore
        from filemaker_migration.s3store import StoreSettings

        settings = StoreSettings(
            bucket=bucket,
            endpoint_url=f"http://127.0.0.1:{self.s3_port}",
            region=REGION,
            access_key_id="bench",
            secret_access_key="bench",
        )
        ObjectStore(settings).create_private_bucket()


def table(rows: list[Measurement]) -> str:
    lines = [
        "| run | images | MB | seconds | images/s | MB/s | importer peak RSS "
        "| CPU ms/image: client, FileMaker, S3 | machine bound | share "
        "| other processes' CPU ms/image |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in rows:
        rss = f"{m.peak_rss_mb:.0f} MB" if m.peak_rss_mb is not None else "—"
        cpu = ", ".join(f"{m.cpu_ms_per_image(p):.1f}" for p in PROCESSES)
        lines.append(
            f"| {m.name} | {m.records} | {m.bytes / 1e6:.0f} | {m.seconds:.1f} | "
            f"{m.per_second:.1f} | {m.mb_per_second:.1f} | {rss} | {cpu} | "
            f"{m.machine_bound:.0f}/s | {m.machine_share:.0%} | "
            f"{m.cpu_ms_per_image('other'):.1f} |"
        )
    return "\n".join(lines)


def parts_table(rows: list[Measurement]) -> str:
    """The importer's CPU ms per image, part by part; "other" is what no
    part holds (threads, queues, the interpreter, Django's start-up)."""
    imports = [m for m in rows if m.parts]
    if not imports:
        return ""
    names = list(imports[0].parts)
    lines = [
        "| run | " + " | ".join(names) + " | other |",
        "| --- |" + " ---: |" * (len(names) + 1),
    ]
    for m in imports:
        per_image = [m.parts[name] / m.records * 1000 for name in names]
        other = m.cpu_ms_per_image("client") - sum(per_image)
        cells = " | ".join(f"{value:.1f}" for value in [*per_image, other])
        lines.append(f"| {m.name} | {cells} |")
    return "\n".join(lines)


def cpu_accounting(b: Measurement, d: Measurement) -> str:
    """(d)'s importer CPU per image beside (b)'s: the same work per image, so
    a much smaller figure means the forked workers' CPU went uncounted."""
    ratio = d.cpu_ms_per_image("client") / b.cpu_ms_per_image("client")
    line = f"importer CPU per image, (d)/(b) = {ratio:.2f}"
    if ratio < CPU_ACCOUNTING_FLOOR:
        line += " (too low: the worker processes' CPU was probably not counted)"
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description="Import throughput benchmark")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--sequential-limit", type=int, default=300)
    parser.add_argument(
        "--processes", type=int, default=2, help="worker processes of (d)"
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="wan")
    parser.add_argument(
        "--scale", action="store_true", help="also import 10x the images"
    )
    parser.add_argument("--json", type=Path, help="write the measurements as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    bench = Bench(args)
    try:
        dataset = bench.dataset(args.images)
        a = bench.scenario(
            "(a) import, --workers 1 --processes 1",
            dataset,
            workers=1,
            limit=args.sequential_limit,
        )
        b = bench.scenario(
            f"(b) import, --workers {args.workers} --processes 1",
            dataset,
            workers=args.workers,
            limit=None,
        )
        c = bench.scenario(
            f"(c) source ceiling, {args.workers} downloads at once",
            dataset,
            workers=args.workers,
            limit=None,
            ceiling=True,
        )
        d = bench.scenario(
            f"(d) import, --workers {args.workers} --processes {args.processes}",
            dataset,
            workers=args.workers,
            limit=None,
            processes=args.processes,
        )
        rows = [a, b, c, d]
        if args.scale:
            big_dataset = bench.dataset(args.images * 10)
            rows.append(
                bench.scenario(
                    f"(b) at {args.images * 10} images",
                    big_dataset,
                    workers=args.workers,
                    limit=None,
                )
            )
    finally:
        bench.close()
    print(f"profile: {args.profile}, dataset seed {args.seed}, {os.cpu_count()} cores")
    print(table(rows))
    print("\nimporter CPU ms per image, by part (pipeline/cpu.py):")
    print(parts_table(rows))
    print(
        f"b/a = {b.per_second / a.per_second:.1f}x   "
        f"d/a = {d.per_second / a.per_second:.1f}x   "
        f"d/b = {d.per_second / b.per_second:.2f}x   "
        f"b/c = {b.per_second / c.per_second:.0%}   "
        f"d/c = {d.per_second / c.per_second:.0%}"
    )
    print(cpu_accounting(b, d))
    print(
        f"(d) on {PROJECTED_CORES} cores, by the same CPU arithmetic, with S3 and "
        f"FileMaker remote: {PROJECTED_CORES} / "
        f"{d.cpu_ms_per_image('client') / 1000:.4f} s of importer CPU per image "
        f"= {d.projected(PROJECTED_CORES):.0f} images/s (not measured)"
    )
    if args.scale:
        big = rows[-1]
        print(
            f"scale: time per image {b.seconds / b.records * 1000:.1f} ms -> "
            f"{big.seconds / big.records * 1000:.1f} ms; peak RSS "
            f"{b.peak_rss_mb:.0f} MB -> {big.peak_rss_mb:.0f} MB"
        )
    if args.json:
        args.json.write_text(json.dumps([vars(m) for m in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
