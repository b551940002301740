"""The tripwire: records in a row failing the same way at the destination."""

from __future__ import annotations

from filemaker_migration.pipeline.accounting import Tripwire
from filemaker_migration.pipeline.report import RecordOutcome


def failed(n: int, detail: str, reason: str = "s3_put_failed") -> RecordOutcome:
    return RecordOutcome(str(n), f"ID{n}", "failed", reason, detail)


def s3_down(n: int) -> RecordOutcome:
    # The key differs from record to record; what S3 said does not.
    return failed(n, f"TransientStoreError: s3 put k/{n}.jpg failed: SlowDown (x)")


def imported(n: int) -> RecordOutcome:
    return RecordOutcome(str(n), f"ID{n}", "imported")


def test_trips_at_any_point_of_the_run():
    wire = Tripwire(after=3)
    assert not any(wire.observe(imported(n)) for n in range(100))
    assert [wire.observe(s3_down(n)) for n in range(3)] == [False, False, True]
    assert wire.cause == "s3_put_failed (SlowDown (x))"


def test_another_outcome_between_failures_starts_the_count_again():
    wire = Tripwire(after=3)
    seen = [s3_down(1), s3_down(2), imported(3), s3_down(4), s3_down(5)]
    assert not any(wire.observe(outcome) for outcome in seen)
    assert wire.observe(s3_down(6))


def test_a_different_cause_starts_its_own_count():
    wire = Tripwire(after=3)
    database = "ProgrammingError: refused\nCONTEXT: row 7"
    seen = [s3_down(1), s3_down(2), failed(3, database, "database_write_failed")]
    assert not any(wire.observe(outcome) for outcome in seen)
    assert not wire.observe(failed(4, database, "database_write_failed"))
    assert wire.observe(failed(5, database.replace("7", "8"), "database_write_failed"))
    assert wire.cause == "database_write_failed (ProgrammingError: refused)"


def test_failures_elsewhere_than_the_destination_never_trip_it():
    wire = Tripwire(after=2)
    for n in range(10):
        assert not wire.observe(failed(n, "FileMaker: 502", "download_failed"))
    assert wire.cause == ""
