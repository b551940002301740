"""The emulator's settings (the fault knobs live in ``faults.FaultConfig``)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from filemaker_migration.emulator.faults import FaultConfig


@dataclass
class EmulatorConfig:
    """How one emulator instance runs."""

    faults: FaultConfig = field(default_factory=FaultConfig)
    """Fault knobs; mutable while the emulator runs."""

    state_dir: Path | None = None
    """Where the SQLite state and uploads live (default: DATASET/state)."""

    database_folder: str = "MainDB"
    """The folder segment of container URLs (FileMaker: MainDB/Additional_N)."""

    product_version: str = "21.1.1.40"
    """What productInfo reports; the emulator targets FileMaker Server 2024."""
