"""Serve the FileMaker Data API emulator over HTTPS for manual and demo runs.

    python manage.py filemaker_emulator --dataset DIR [--host H] [--port N]
        [--strict] [--latency-ms N] [--drop-probability P] ...
        (one flag per FaultConfig knob; --strict starts from strict_profile())

Prints ``URL https://...`` and ``CA_BUNDLE /path/ca.pem`` lines (flushed) so
scripts can start it with ``--port 0`` and read where it listens.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import fields
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.core.management.base import CommandError

from filemaker_migration.dataset import DatasetError
from filemaker_migration.dataset import load_dataset
from filemaker_migration.emulator import EmulatorConfig
from filemaker_migration.emulator import EmulatorServer
from filemaker_migration.emulator import FaultConfig
from filemaker_migration.emulator import field_docs
from filemaker_migration.emulator import serve
from filemaker_migration.emulator import strict_profile


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _knob_type(name: str, default: Any) -> Any:
    if name == "seed":
        return int
    if isinstance(default, bool):
        return _flag
    return type(default)


class Command(BaseCommand):
    help = "Serve the FileMaker Data API emulator over HTTPS (own CA in DIR/tls)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dataset",
            required=True,
            type=Path,
            help="the dataset directory to serve (its format: docs/emulator.md)",
        )
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            help="address to listen on (default 127.0.0.1: this machine only)",
        )
        parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
        parser.add_argument(
            "--state-dir",
            type=Path,
            help="where FileMaker's edits are kept (default DIR/state)",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="behave as a real FileMaker Server does (strict_profile(): stale "
            "URLs, token-protected streaming, one request per session at a time, "
            "record locks, portals, request validation); knobs below override",
        )
        docs = field_docs()
        for knob in fields(FaultConfig):
            parser.add_argument(
                f"--{knob.name.replace('_', '-')}",
                dest=knob.name,
                type=_knob_type(knob.name, knob.default),
                default=None,
                help=f"{docs.get(knob.name, '')} (default {knob.default!r})",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            dataset = load_dataset(options["dataset"])
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        given = {
            k.name: options[k.name]
            for k in fields(FaultConfig)
            if options[k.name] is not None
        }
        faults = strict_profile(**given) if options["strict"] else FaultConfig(**given)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())

        def ready(server: EmulatorServer) -> None:
            self.stdout.write(
                f"FileMaker emulator serving {server.url} (database "
                f"{dataset.database}, CA bundle {server.ca_bundle})"
            )
            self.stdout.write(f"URL {server.url}")
            self.stdout.write(f"CA_BUNDLE {server.ca_bundle}")
            self.stdout.flush()

        try:
            serve(
                dataset,
                EmulatorConfig(faults=faults, state_dir=options["state_dir"]),
                host=options["host"],
                port=options["port"],
                ready=ready,
                stop=stop,
            )
        except OSError as exc:
            raise CommandError(f"cannot serve on {options['host']}: {exc}") from exc
        self.stdout.write("FileMaker emulator stopped")
