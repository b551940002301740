"""Write the synthetic clinic, a dataset for the FileMaker emulator, into DIR."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.core.management.base import CommandError

from filemaker_migration.dataset import DEFAULT_IMAGES
from filemaker_migration.dataset import DEFAULT_SEED
from filemaker_migration.dataset import GenerateError
from filemaker_migration.dataset import generate_dataset


class Command(BaseCommand):
    help = (
        "Generate a deterministic synthetic clinic (FileMaker Images and Contacts, "
        "container files, and expected.json, the migration's test oracle)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Directory to write.")
        parser.add_argument(
            "--images",
            type=int,
            default=DEFAULT_IMAGES,
            help=f"Number of image records (default {DEFAULT_IMAGES}).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed: same seed, same bytes (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace the contents of a non-empty directory that is not a dataset.",
        )

    def handle(self, *args, **options):
        if options["images"] < 1:
            raise CommandError("--images must be at least 1")
        try:
            summary = generate_dataset(
                options["out"],
                images=options["images"],
                seed=options["seed"],
                force=options["force"],
            )
        except GenerateError as exc:
            raise CommandError(str(exc)) from exc
        outcomes = summary.outcomes
        # The account password is in dataset.json; it is never printed.
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {summary.images} images for {summary.patients} patients "
                f"({summary.contacts} contacts, {summary.files} files, "
                f"{summary.bytes / 1e6:.1f} MB) to {summary.out_dir}: expected "
                f"{outcomes['imported']} imported, "
                f"{outcomes['imported_unlinked']} unlinked, "
                f"{outcomes['skipped']} skipped."
            )
        )
