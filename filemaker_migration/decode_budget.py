"""How many pixels the process decodes at once: a budget shared by every worker.

Pillow's own guard (imagecheck.MAX_PIXELS) bounds one picture, not what is in
flight: a small PNG can declare 88 megapixels, ~350 MB once decoded, and 16
workers meeting a few of those at once exhaust a machine. So every decode
first reserves its cost from one process-wide budget, and waits while the
budget is spent.

A cost is counted in "RGB pixels", 4 bytes each (Pillow keeps an RGB picture
as 4 bytes a pixel):

- the pixels actually decoded: a JPEG's at its draft scale (1/2 to 1/8), plus
  3 bytes a pixel at full size for a progressive JPEG, whose decoder keeps all
  its coefficients;
- twice those of a TIFF or WebP (their decoders hold the data a second time)
  and, for the gallery, the full-size copies made before shrinking: one for
  transparency, a palette or 16-bit depth, two for a palette with
  transparency (to RGBA, then premultiplied);
- for the gallery, the derivatives' working copies: at most four display (or
  thumbnail) sized pictures (derivatives.derivatives_of shrinks first).

A picture that costs more than the whole budget is decoded alone: a JPEG at
the reduced scale its draft allows, any other format only where it must be
(the derivatives of an original already accepted); the check passes those
over instead, with a reason naming the size (`over_decode_budget`).
Reservations are served in arrival order, so a large picture is never
starved by a stream of small ones. Never nest reservations in one thread:
the inner one could wait for the outer forever.
"""

from __future__ import annotations

import ctypes
import threading
from collections import deque
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import ExitStack
from contextlib import contextmanager

from PIL import Image

from filemaker_migration.imagecheck import InvalidImageError

# ~512 MB of decoded pixels: with the importer's own ~250 MB, a 2 GB machine
# keeps room to spare, and any picture under Pillow's bomb guard (90 MP) fits
# with its gallery JPEGs, so by default none is passed over for its size alone
# unless it is one of the kinds counted twice.
DEFAULT_MEGAPIXELS = 128
OVER_BUDGET = "over_decode_budget"
BYTES_PER_PIXEL = 4
# glibc's mallopt parameter (malloc.h), and the size from which memory is
# mapped for each allocation and given back to the system when freed.
_M_MMAP_THRESHOLD = -3
_MAPPED_FROM = 1 << 20

# Full-size copies the derivatives make before shrinking a picture of this
# mode: premultiplied alpha (RGBA, LA), RGB or RGBA from a palette, 32 bits
# from 16. Modes not listed shrink straight from the decoded pixels.
_COPIES_BEFORE_SHRINKING = {"RGBA": 1, "LA": 1, "P": 1, "PA": 2, "1": 1}
_DOUBLE_FORMATS = frozenset({"TIFF", "WEBP"})


class DecodeBudget:
    """A pool of pixels; `reserve` takes some for the duration of a decode."""

    def __init__(self, megapixels: float = DEFAULT_MEGAPIXELS) -> None:
        self._cond = threading.Condition()
        self._capacity = _pixels(megapixels)
        self._in_use = 0
        self._waiting: deque[object] = deque()
        self.peak = 0  # the most reserved at once since the last reset_peak

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def megapixels(self) -> float:
        return self._capacity / 1e6

    @property
    def waiting(self) -> int:
        """Reservations waiting their turn (for tests and progress lines)."""
        with self._cond:
            return len(self._waiting)

    def configure(self, megapixels: float) -> None:
        with self._cond:
            self._capacity = _pixels(megapixels)
            self._cond.notify_all()

    def reset_peak(self) -> None:
        with self._cond:
            self.peak = self._in_use

    @contextmanager
    def reserve(self, pixels: int) -> Iterator[int]:
        """Hold `pixels` of the budget (all of it, alone, when more) until exit."""
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
            self._cond.notify_all()  # whoever waits for `waiting` to change
            try:
                while (
                    self._waiting[0] is not ticket
                    or self._in_use + min(pixels, self._capacity) > self._capacity
                ):
                    self._cond.wait()
            except BaseException:
                self._waiting.remove(ticket)
                self._cond.notify_all()
                raise
            self._waiting.popleft()
            held = min(pixels, self._capacity)
            self._in_use += held
            self.peak = max(self.peak, self._in_use)
            # The next in line may fit beside this one.
            self._cond.notify_all()
        try:
            yield held
        finally:
            with self._cond:
                self._in_use -= held
                self._cond.notify_all()

    def admit(
        self, image: Image.Image, *, box: int | None, pass_over: bool
    ) -> AbstractContextManager[int]:
        """The reservation for decoding `image` (opened, drafted, not loaded).

        `box` is the derivatives' size when they are made from these pixels
        (None: a check only). Over the whole budget, a JPEG (drafted already,
        at the smallest scale that serves) is decoded alone; another format
        is refused with InvalidImageError (`over_decode_budget`, naming its
        size) when `pass_over`, else decoded alone.
        """
        cost = decode_cost(image, box=box)
        if cost > self._capacity and pass_over and image.format != "JPEG":
            width, height = full_size(image)
            raise InvalidImageError(
                OVER_BUDGET,
                f"{width}x{height} pixels ({width * height / 1e6:.1f} MP) need "
                f"{cost / 1e6:.1f} MP to decode, more than the decode budget of "
                f"{self.megapixels:g} MP (DECODE_BUDGET_MEGAPIXELS)",
            )
        return self.reserve(cost)

    def admitter(
        self, held: ExitStack, *, box: int | None
    ) -> Callable[[Image.Image], None]:
        """An `admit` for imagecheck.decode_image whose reservation lives in
        `held`, so it outlasts the decode for as long as the caller keeps the
        pixels."""

        def admit(image: Image.Image) -> None:
            held.enter_context(self.admit(image, box=box, pass_over=True))

        return admit


def full_size(image: Image.Image) -> tuple[int, int]:
    """The picture's own size, even after a JPEG draft made `image.size` smaller."""
    scale = _draft_scale(image)
    return image.size[0] * scale, image.size[1] * scale


def decode_cost(image: Image.Image, *, box: int | None) -> int:
    """The RGB pixels decoding `image` holds at once (see the module's docstring)."""
    width, height = image.size
    decoded = width * height
    cost = decoded
    if image.format == "JPEG" and image.info.get("progressive"):
        full_w, full_h = full_size(image)
        cost += full_w * full_h * 3 // BYTES_PER_PIXEL
    elif image.format in _DOUBLE_FORMATS:
        cost += decoded
    if box is not None:
        cost += decoded * _copies_before_shrinking(image)
        cost += 4 * min(decoded, box * box)
    return cost


def _copies_before_shrinking(image: Image.Image) -> int:
    if image.mode.startswith("I;16"):
        return 1
    if image.mode == "P" and "transparency" in image.info:
        return 2  # to RGBA, then premultiplied
    return _COPIES_BEFORE_SHRINKING.get(image.mode, 0)


def _draft_scale(image: Image.Image) -> int:
    # JpegImageFile.draft leaves (scale, 0) in decoderconfig.
    config = getattr(image, "decoderconfig", ()) if image.format == "JPEG" else ()
    if config and isinstance(config[0], int) and config[0] > 0:
        return config[0]
    return 1


def _pixels(megapixels: float) -> int:
    if not megapixels > 0:
        raise ValueError(f"a decode budget must be positive (got {megapixels!r})")
    return int(megapixels * 1_000_000)


_SHARED = DecodeBudget()


def shared() -> DecodeBudget:
    """The process's budget: every decode of every worker reserves from it."""
    return _SHARED


def set_up_process(megapixels: float) -> DecodeBudget:
    """Size the process's budget, and have freed pixels given back at once.

    The budget bounds the pixels in use, but not what the allocator keeps:
    glibc serves an allocation the size of a freed mapped one from its heaps
    from then on (its dynamic mmap threshold), and each thread's heap keeps
    what it frees. Workers decoding 88 MP pictures one after another, within
    a 128 MP budget, left 1.6 GB resident that way (bench/memory.py). A fixed
    threshold maps every allocation of 1 MB or more on its own and unmaps it
    when freed. Elsewhere than glibc this is skipped.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        pass
    else:
        mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM)
    _SHARED.configure(megapixels)
    return _SHARED
