"""The emulator's dataset format: a directory a user can build from an export.

    DIR/dataset.json              database name, accounts, layouts and their fields
    DIR/records/<Layout>.jsonl    one record's field data per line
    DIR/<container files>         referenced from records by relative path

See docs/emulator.md ("The emulator's dataset format") for the full description.
"""

from filemaker_migration.dataset.format import FIELD_RESULTS
from filemaker_migration.dataset.format import Dataset
from filemaker_migration.dataset.format import DatasetError
from filemaker_migration.dataset.format import FieldSpec
from filemaker_migration.dataset.format import LayoutSpec
from filemaker_migration.dataset.format import atomic_write_text
from filemaker_migration.dataset.format import load_dataset
from filemaker_migration.dataset.format import write_dataset_json
from filemaker_migration.dataset.generate import DEFAULT_IMAGES
from filemaker_migration.dataset.generate import DEFAULT_SEED
from filemaker_migration.dataset.generate import GenerateError
from filemaker_migration.dataset.generate import generate_dataset

__all__ = [
    "DEFAULT_IMAGES",
    "DEFAULT_SEED",
    "FIELD_RESULTS",
    "Dataset",
    "DatasetError",
    "FieldSpec",
    "GenerateError",
    "LayoutSpec",
    "atomic_write_text",
    "generate_dataset",
    "load_dataset",
    "write_dataset_json",
]
