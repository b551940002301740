"""The decode budget (filemaker_migration/decode_budget.py), without a server.

What the budget promises: the pixels reserved at once never exceed it, a
reservation larger than all of it runs alone, nobody waits forever, and a
picture is counted by what decoding it holds, before a single pixel is read.
"""

from __future__ import annotations

import io
import threading

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from filemaker_migration import decode_budget
from filemaker_migration.decode_budget import OVER_BUDGET
from filemaker_migration.decode_budget import DecodeBudget
from filemaker_migration.decode_budget import decode_cost
from filemaker_migration.imagecheck import InvalidImageError
from filemaker_migration.pipeline.select import check_body

# Long enough for a deadlock to be certain, never reached when all is well.
DEADLOCK = 60


@pytest.fixture
def small_shared_budget():
    """The process's budget, set to 1 MP for one test and put back after."""
    shared = decode_budget.shared()
    before = shared.megapixels
    shared.configure(1)
    shared.reset_peak()
    yield shared
    shared.configure(before)


def encoded(image: Image.Image, fmt: str, **params) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    out.seek(0)
    return out


class Observer:
    """Counts what is held at once, independently of the budget's own books."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: list[int] = []
        self.max_total = 0
        self.crowded_oversize = False

    def enter(self, pixels: int, capacity: int) -> None:
        with self.lock:
            self.now.append(pixels)
            self.max_total = max(
                self.max_total, sum(min(p, capacity) for p in self.now)
            )
            if any(p > capacity for p in self.now) and len(self.now) > 1:
                self.crowded_oversize = True

    def leave(self, pixels: int) -> None:
        with self.lock:
            self.now.remove(pixels)


@hypothesis_settings(max_examples=40, deadline=None)
@given(
    capacity_mp=st.integers(min_value=1, max_value=20),
    sizes=st.lists(st.integers(min_value=1, max_value=30_000_000), max_size=24),
    threads=st.integers(min_value=1, max_value=8),
)
def test_reservations_never_exceed_the_budget_and_oversize_runs_alone(
    capacity_mp, sizes, threads
):
    budget = DecodeBudget(capacity_mp)
    seen = Observer()
    pending = list(sizes)
    take = threading.Lock()

    def worker() -> None:
        while True:
            with take:
                if not pending:
                    return
                pixels = pending.pop()
            with budget.reserve(pixels):
                seen.enter(pixels, budget.capacity)
                seen.leave(pixels)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(DEADLOCK)
    assert not any(thread.is_alive() for thread in workers), "a reservation hung"
    assert seen.max_total <= budget.capacity
    assert budget.peak <= budget.capacity
    assert not seen.crowded_oversize, "a picture over the budget shared it"


def test_a_large_reservation_is_not_overtaken_by_small_ones():
    budget = DecodeBudget(10)
    order: list[str] = []
    held = budget.reserve(6_000_000)
    held.__enter__()

    def reserve(name: str, pixels: int) -> None:
        with budget.reserve(pixels):
            order.append(name)

    large = threading.Thread(target=reserve, args=("large", 6_000_000))
    large.start()
    with budget._cond:
        assert budget._cond.wait_for(lambda: len(budget._waiting) == 1, DEADLOCK)
    # 1 MP would fit beside the 6 MP held, but the 6 MP waiting came first.
    small = threading.Thread(target=reserve, args=("small", 1_000_000))
    small.start()
    with budget._cond:
        assert budget._cond.wait_for(lambda: len(budget._waiting) == 2, DEADLOCK)
    assert order == []
    held.__exit__(None, None, None)
    large.join(DEADLOCK)
    small.join(DEADLOCK)
    assert order == ["large", "small"]


def test_a_png_over_the_budget_is_refused_naming_its_size_before_decoding():
    budget = DecodeBudget(1)
    body = encoded(Image.new("L", (3000, 2000)), "PNG")
    with Image.open(body) as opened:
        with pytest.raises(InvalidImageError) as refused:
            budget.admit(opened, box=None, pass_over=True)
        assert refused.value.reason == OVER_BUDGET
        assert "3000x2000 pixels (6.0 MP)" in refused.value.detail
        assert "decode budget of 1 MP" in refused.value.detail
        # Not refused where it must be decoded: alone, then.
        with budget.admit(opened, box=None, pass_over=False) as reserved:
            assert reserved == budget.capacity


def test_a_jpeg_over_the_budget_is_decoded_alone_at_reduced_scale():
    budget = DecodeBudget(0.01)
    body = encoded(Image.new("RGB", (1600, 1200), "red"), "JPEG")
    with Image.open(body) as opened:
        opened.draft("RGB", (200, 150))
        with budget.admit(opened, box=None, pass_over=True) as reserved:
            assert reserved == budget.capacity  # the whole budget: alone
            opened.load()
        assert opened.size == (200, 150)


def test_costs_count_what_decoding_holds():
    rgb = encoded(Image.new("RGB", (1000, 1000)), "PNG")
    rgba = encoded(Image.new("RGBA", (1000, 1000)), "PNG")
    progressive = encoded(Image.new("RGB", (1000, 1000)), "JPEG", progressive=True)
    with Image.open(rgb) as image:
        assert decode_cost(image, box=None) == 1_000_000
        # Plus four display-sized working copies for the gallery's JPEGs.
        assert decode_cost(image, box=300) == 1_000_000 + 4 * 90_000
    with Image.open(rgba) as image:
        assert decode_cost(image, box=None) == 1_000_000
        assert decode_cost(image, box=300) == 2 * 1_000_000 + 4 * 90_000
    with Image.open(progressive) as image:
        image.draft("RGB", (125, 125))
        assert image.size == (125, 125)
        # Its decoder keeps every coefficient of the full picture.
        assert decode_cost(image, box=None) == 125 * 125 + 750_000


def test_the_check_passes_over_a_picture_over_the_shared_budget(small_shared_budget):
    body = encoded(Image.new("RGB", (2000, 1500)), "PNG")
    with pytest.raises(InvalidImageError) as refused:
        check_body(body, for_gallery=True)
    assert refused.value.reason == OVER_BUDGET
    assert "2000x1500 pixels" in refused.value.detail
    assert small_shared_budget.peak <= small_shared_budget.capacity
    # Within the budget, the same check passes and gives the budget back.
    small = encoded(Image.new("RGB", (300, 200)), "PNG")
    info, made = check_body(small, for_gallery=True)
    assert (info.width, info.height) == (300, 200)
    assert made is not None
    assert small_shared_budget.waiting == 0
    with small_shared_budget.reserve(small_shared_budget.capacity):
        pass  # all of it is free again
