"""README.md and the guides in docs/ point only at what exists.

Every relative link (and image) in README.md and docs/*.md names a file of
the repository, and a `file.md#anchor` link a heading of that file, with
GitHub's anchors: lower case, punctuation dropped, spaces to hyphens, a
repeated heading numbered `-1`, `-2`. Every `make X` shown in them is a
target of the Makefile. Code blocks and code spans are text, not links.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|(?:src|href)=\"([^\"]+)\"")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.M)
MAKE = re.compile(r"\bmake ([a-z][\w-]*)")
TARGET = re.compile(r"^([a-z][\w-]*):", re.M)


def prose(text: str) -> str:
    """The page without its code: fenced blocks and code spans."""
    return FENCE.sub("", text)


def links(page: Path) -> list[str]:
    text = CODE_SPAN.sub("", prose(page.read_text()))
    return [a or b for a, b in LINK.findall(text)]


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for title in HEADING.findall(prose(page.read_text())):
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n, anchor = 0, slug
        while anchor in found:
            n += 1
            anchor = f"{slug}-{n}"
        found.add(anchor)
    return found


def broken(page: Path) -> list[str]:
    bad = []
    for link in links(page):
        if re.match(r"[a-z][a-z+.-]*:", link):  # https:, mailto: ... not checked
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            bad.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            bad.append(f"{link}: no such heading")
    return bad


def test_the_pages_have_links_to_check():
    assert len(PAGES) > 10
    assert sum(len(links(page)) for page in PAGES) > 30


def test_every_relative_link_names_a_file_and_a_heading_that_exist():
    bad = {page.relative_to(ROOT).as_posix(): broken(page) for page in PAGES}
    assert {page: found for page, found in bad.items() if found} == {}


def test_github_anchors():
    page = ROOT / "docs" / "run-book.md"
    assert "run-book-the-plans-order" in anchors(page)
    assert "before-the-real-migration-the-contract-suite" in anchors(page)
    assert "make-serve-the-demo-in-a-browser" in anchors(ROOT / "docs" / "viewing.md")


def test_every_make_target_shown_exists():
    targets = set(TARGET.findall((ROOT / "Makefile").read_text()))
    shown = set()
    for page in PAGES:
        text = page.read_text()
        code = FENCE.findall(text) + CODE_SPAN.findall(text)
        shown |= {(page.name, name) for block in code for name in MAKE.findall(block)}
    assert {name for _, name in shown} >= {"demo", "test", "serve"}
    assert sorted(pair for pair in shown if pair[1] not in targets) == []
