"""The target: the one door to the clinic's patient, batch and image models.

`get_target()` builds the target named by the FILEMAKER_MIGRATION_TARGET
setting once per process; `check_target()` builds it afresh and lets every
settings mistake surface as one `TargetConfigurationError` line, which each
command calls before it touches anything.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.utils.module_loading import import_string

from filemaker_migration.targets.base import FACT_NAMES
from filemaker_migration.targets.base import BatchRow
from filemaker_migration.targets.base import ImageFacts
from filemaker_migration.targets.base import ImageRow
from filemaker_migration.targets.base import PatientFacts
from filemaker_migration.targets.base import Refusal
from filemaker_migration.targets.base import RowRefusedError
from filemaker_migration.targets.base import Target
from filemaker_migration.targets.base import TargetConfigurationError
from filemaker_migration.targets.validation import refusal_of

__all__ = [
    "FACT_NAMES",
    "SETTING",
    "BatchRow",
    "ImageFacts",
    "ImageRow",
    "PatientFacts",
    "Refusal",
    "RowRefusedError",
    "Target",
    "TargetConfigurationError",
    "check_target",
    "get_target",
    "refusal_of",
]

SETTING = "FILEMAKER_MIGRATION_TARGET"


def _build() -> Target:
    config = getattr(settings, SETTING, None)
    if not isinstance(config, dict) or not config.get("BACKEND"):
        raise TargetConfigurationError(
            f"{SETTING}['BACKEND'] is not set: name the target class by its "
            "dotted path (see docs/own-project.md)"
        )
    backend = config["BACKEND"]
    try:
        cls = import_string(backend)
    except ImportError as exc:
        raise TargetConfigurationError(
            f"{SETTING}['BACKEND']: cannot import {backend!r} ({exc})"
        ) from None
    options = config.get("OPTIONS", {})
    if not isinstance(options, dict):
        raise TargetConfigurationError(f"{SETTING}['OPTIONS'] must be a dict")
    try:
        target = cls(**options)
    except TypeError as exc:
        raise TargetConfigurationError(f"{SETTING}['OPTIONS']: {exc}") from None
    if not isinstance(target, Target):
        raise TargetConfigurationError(
            f"{SETTING}['BACKEND']: {backend} does not implement the Target "
            "protocol (filemaker_migration/targets/base.py)"
        )
    return target


@functools.cache
def _cached(config_repr: str) -> Target:
    return _build()


def get_target() -> Target:
    """The configured target (built once per settings value and process)."""
    return _cached(repr(getattr(settings, SETTING, None)))


def check_target() -> Target:
    """Build the target now, so a settings mistake stops a command at once."""
    return get_target()
