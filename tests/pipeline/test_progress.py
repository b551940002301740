"""Progress: a bar with ETA on a terminal, quiet plain lines otherwise."""

from __future__ import annotations

import io

from filemaker_migration.pipeline.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    progress = Progress(out, every_seconds=0.0)
    progress.start(4)
    for _ in range(4):
        progress.advance("imported")
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("progress: 4/4 records")
    assert "ETA" in lines[0]
    assert "\r" not in out.getvalue()


def test_a_bar_with_eta_on_a_terminal():
    out = Terminal()
    progress = Progress(out)
    progress.start(3)
    for _ in range(3):
        progress.advance("imported")
    progress.close()
    text = out.getvalue()
    assert "\r" in text
    assert "3/3" in text
    assert "progress:" not in text
