"""Import every unexported FileMaker image into S3 and the ImageBatch/Image models."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser
from django.db import DatabaseError

from filemaker_migration import conf
from filemaker_migration.conf import FileMakerSettings
from filemaker_migration.conf import object_store
from filemaker_migration.dataapi import DataAPIError
from filemaker_migration.management.ready import ready_to_run
from filemaker_migration.operations import refresh_changed
from filemaker_migration.pipeline import TRIPWIRE_AFTER
from filemaker_migration.pipeline import ImportAborted
from filemaker_migration.pipeline import ImportOptions
from filemaker_migration.pipeline import ImportRunner
from filemaker_migration.pipeline import NoRunToJoin
from filemaker_migration.pipeline import Progress
from filemaker_migration.pipeline import Worker
from filemaker_migration.pipeline import WorkerFailed
from filemaker_migration.pipeline import format_summary
from filemaker_migration.pipeline import latest_prediction
from filemaker_migration.pipeline import running_run
from filemaker_migration.runlock import LockHeldError
from filemaker_migration.s3store import StoreError

# `--join` started on a host before the import itself waits for it.
JOIN_WAIT_SECONDS = 600


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


# What ends a run, in this process or in a worker process (whose error comes
# back here, see pipeline/workers.py): one line each, the same either way.
RUN_ERRORS = (DataAPIError, StoreError, DatabaseError, WorkerFailed)


def seconds(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=positive_int, help="import exactly N records"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="read FileMaker, write nothing but the report",
        )
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=16,
            help="downloads kept in flight at once, and as many finishing "
            "threads (default 16; FileMaker's 429/502/503 halve it)",
        )
        parser.add_argument(
            "--processes",
            type=positive_int,
            help="worker processes, each with --workers threads (default: the "
            'FILEMAKER_MIGRATION_PROCESSES setting, "auto": one per core, at '
            "most 4)",
        )
        parser.add_argument(
            "--join",
            nargs="?",
            const=0,
            type=int,
            metavar="RUN",
            help="work on the import running in this database (started on "
            "another host), or on run RUN, instead of starting one",
        )
        parser.add_argument(
            "--wait",
            type=seconds,
            metavar="SECONDS",
            help=f"with --join: how long to wait for an import to start (default "
            f"{JOIN_WAIT_SECONDS}; 0: not at all)",
        )
        parser.add_argument(
            "--page-size",
            type=positive_int,
            default=100,
            help="records read from FileMaker per request (default 100)",
        )
        parser.add_argument(
            "--report", type=Path, help="where to write the JSON report"
        )
        parser.add_argument(
            "--skip-s3-preflight",
            action="store_true",
            help="do not check the bucket's encryption and public access first "
            "(only for local S3-compatible servers that cannot answer)",
        )
        parser.add_argument(
            "--max-container-mb",
            type=positive_int,
            default=200,
            help="containers larger than this are passed over (default 200)",
        )
        parser.add_argument(
            "--refresh-changed",
            action="store_true",
            help="first import records edited after their export again, as new "
            "versions (see docs/commands.md)",
        )
        parser.add_argument(
            "--use-thumbnail-fallback",
            action="store_true",
            help="accept the Recovered thumbnail when no other size is usable",
        )

    def _one_line(self, exc: Exception, traceback: bool) -> CommandError:
        """The error as one line; with --traceback, a worker process's own
        traceback first (the command's own follows, as Django prints it)."""
        worker_traceback = getattr(exc, "worker_traceback", None)
        if traceback and worker_traceback:
            self.stderr.write(f"in a worker process:\n{worker_traceback}")
        if isinstance(exc, DatabaseError):
            return CommandError(f"the database failed: {exc}".strip())
        return CommandError(str(exc))

    def handle(self, *args, **options) -> None:
        self._traceback = options["traceback"]
        try:
            processes = options["processes"] or conf.import_processes()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if options["dry_run"]:
            processes = 1  # it keeps nothing, so it has nothing to share
        if processes > (cores := conf.usable_cores()):
            # More processes than cores only share them, each with its own
            # sessions, S3 pool and decode budget; more hosts (--join) add cores.
            self.stderr.write(
                f"{processes} worker processes asked for, but this command may use "
                f"{cores} core(s): running {cores} (use --join on other hosts "
                "for more)"
            )
            processes = cores
        run_options = ImportOptions(
            limit=options["limit"],
            dry_run=options["dry_run"],
            workers=options["workers"],
            page_size=options["page_size"],
            report_path=options["report"],
            use_thumbnail=options["use_thumbnail_fallback"],
            max_bytes=options["max_container_mb"] * 1024 * 1024,
            processes=processes,
        )
        try:
            ready_to_run()  # settings, target, database: one line each
            fm = FileMakerSettings.from_settings()
            store = object_store(max_pool=run_options.workers)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if options["wait"] is not None and options["join"] is None:
            raise CommandError("--wait goes with --join: how long a joining host waits")
        if options["join"] is not None:
            if options["dry_run"] or options["limit"] or options["refresh_changed"]:
                raise CommandError(
                    "--join works on a run already started: --dry-run, --limit "
                    "and --refresh-changed belong to the command that started it"
                )
            wait = JOIN_WAIT_SECONDS if options["wait"] is None else options["wait"]
            self._join(options["join"] or None, wait, run_options, fm, store)
            return
        if not options["skip_s3_preflight"]:
            problems = store.preflight()
            if problems:
                raise CommandError(
                    "S3 preflight failed: "
                    + "; ".join(problems)
                    + " (fix the bucket, or pass --skip-s3-preflight for a local "
                    "test server)"
                )
        if options["refresh_changed"] and not run_options.dry_run:
            try:
                self.stdout.write(refresh_changed(fm, store))
            except (LockHeldError, DataAPIError, StoreError) as exc:
                raise CommandError(str(exc)) from exc
        # The bar writes carriage returns itself: give it the raw stream, not
        # the wrapper that appends a newline to every write.
        progress = Progress(getattr(self.stdout, "_out", self.stdout))
        try:
            # Fetchers download and finishers write back at the same time:
            # up to two requests per worker may be in flight to FileMaker.
            with fm.client(max_concurrency=2 * run_options.workers) as client:
                runner = ImportRunner(
                    run_options,
                    fm,
                    client=client,
                    store=store,
                    progress=progress,
                    report_dir=conf.report_dir(),
                )
                result = runner.execute()
        except (*RUN_ERRORS, ImportAborted, LockHeldError) as exc:
            raise self._one_line(exc, options["traceback"]) from exc
        except KeyboardInterrupt:
            # The records in flight were finished and the report written.
            raise CommandError(
                "interrupted; the records taken up were finished, and running "
                "the import again continues where this run stopped"
            ) from None
        predicted = None if result.dry_run else latest_prediction(conf.report_dir())
        self.stdout.write(format_summary(result, predicted=predicted))
        if result.halted:
            exported = result.totals.get("imported", 0) + result.totals.get(
                "imported_unlinked", 0
            )
            raise CommandError(
                "stopped: FileMaker's Data API transfer allowance is used up "
                f"(error 953) after {exported:,} record(s) exported and "
                f"{result.filemaker_bytes / 1e6:,.1f} MB received from FileMaker "
                f"this run; see {result.report_path}. The Admin Console shows the "
                "annual limit and its reset date; run the import again once "
                "the allowance allows, it continues where this run stopped."
            )
        if result.stopped_early:
            raise CommandError(
                f"stopped early: {TRIPWIRE_AFTER} records in a row failed at the "
                f"destination with {result.stopped_early}; fix it and run the "
                "import again (the records already taken up were finished)"
            )
        if result.failed:
            raise CommandError(
                f"{result.failed} record(s) failed; see {result.report_path}. "
                "Running the import again retries them."
            )

    def _join(
        self, run_id: int | None, wait: int, run_options: ImportOptions, fm, store
    ) -> None:
        """Work on a run started elsewhere until it has nothing left."""
        try:
            run = running_run(
                run_id,
                wait=wait if run_id is None else 0,
                waiting=lambda: self.stdout.write(
                    f"waiting up to {wait} s for an import to start (--wait)"
                ),
            )
            with fm.client(max_concurrency=2 * run_options.workers) as client:
                worker = Worker(run, run_options, fm, client, store)
                finished = worker.work()
        except (*RUN_ERRORS, NoRunToJoin) as exc:
            raise self._one_line(exc, self._traceback) from exc
        self.stdout.write(
            f"joined run {run.pk}: finished {finished:,} record(s); the run's "
            "report, written by the host that started it, covers every worker"
        )
