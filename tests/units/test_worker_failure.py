"""What a worker process's error becomes when it reaches the starting command."""

from __future__ import annotations

from django.db import OperationalError

from filemaker_migration.pipeline import WorkerFailed
from filemaker_migration.pipeline.workers import _crossing


def raised(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:
        return caught


def test_an_error_that_pickles_crosses_as_itself_with_its_traceback():
    crossed = _crossing(raised(OperationalError("the database went away")))
    assert type(crossed) is OperationalError
    assert str(crossed) == "the database went away"
    assert crossed.worker_traceback.startswith("Traceback (most recent call last)")
    assert "in raised" in crossed.worker_traceback  # the worker's own frames


class TwoPartError(Exception):
    def __init__(self, what: str, code: int) -> None:
        super().__init__(f"{what} ({code})")  # unpickling calls cls(one arg)


def test_an_error_that_does_not_pickle_crosses_as_its_kind_and_words():
    crossed = _crossing(raised(TwoPartError("the layout is gone", 105)))
    assert type(crossed) is WorkerFailed
    assert str(crossed) == "TwoPartError: the layout is gone (105)"
    assert "TwoPartError" in crossed.worker_traceback
