"""The importer's CPU by part (pipeline/cpu.py): a part nested in another is
counted in the inner one only, so the parts add up."""

from __future__ import annotations

import hashlib

from filemaker_migration.pipeline.cpu import PARTS
from filemaker_migration.pipeline.cpu import CpuMeter


def burn() -> None:
    data = b"x" * 1_000_000
    for _ in range(40):
        data = hashlib.sha256(data).digest() * 31_250


def test_an_inner_part_is_not_counted_twice():
    meter = CpuMeter()
    with meter.part("check"), meter.part("gallery"):
        burn()
    seconds = meter.seconds()
    assert seconds["gallery"] > 0
    assert seconds["check"] < seconds["gallery"] / 2


def test_another_process_s_parts_add_up_and_a_reset_clears_them():
    meter = CpuMeter()
    meter.add({"s3": 1.5})
    meter.add({"s3": 0.5, "database": 2.0})
    assert (meter.seconds()["s3"], meter.seconds()["database"]) == (2.0, 2.0)
    assert set(meter.seconds()) == set(PARTS)
    meter.reset()
    assert sum(meter.seconds().values()) == 0
