"""Progress: a bar on a terminal, quiet plain lines otherwise; one unit (images);
an ETA only once the rate is steady, in minutes."""

from __future__ import annotations

import io

from filemaker_migration.pipeline.progress import Progress
from filemaker_migration.pipeline.progress import eta_text


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """A clock the test moves (the progress line reads time, it never waits)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    progress = Progress(out, every_seconds=0.0)
    progress.start(4)
    for _ in range(4):
        progress.advance("imported")
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("progress: 4/4 images")
    assert all("images/s" in line for line in lines)
    assert "\r" not in out.getvalue()


def test_no_eta_until_the_rate_is_steady_then_in_minutes():
    out, clock = io.StringIO(), Clock()
    progress = Progress(out, every_seconds=0.0, clock=clock)
    progress.start(6000)
    clock.now += 1
    progress.advance("imported")  # one record after a second: no guess yet
    assert "left" not in out.getvalue()

    for _ in range(99):
        clock.now += 0.5
        progress.advance("imported")  # 100 images in 50.5 s
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("progress: 100/6,000 images, 2.0 images/s")
    assert last.endswith("about 50 min left")


def test_eta_words():
    assert eta_text(30, 1.0) == "under a minute left"
    assert eta_text(600, 2.0) == "about 5 min left"
    assert eta_text(100_000, 1.0) == "about 1,667 min left"


def test_a_bar_on_a_terminal():
    out = Terminal()
    progress = Progress(out)
    progress.start(3)
    for _ in range(3):
        progress.advance("imported")
    progress.close()
    text = out.getvalue()
    assert "\r" in text
    assert "3/3" in text
    assert "images" in text
    assert "progress:" not in text
