"""The contact sheet: a reproducible sample of a run's images for a clinician.

The sample is stratified by year and FileMaker Type, so that every year and
every Type the run imported appears at least once before any stratum gets a
second look, and it is drawn from a seeded generator so that the same seed
always shows the same images (the sign-off records the seed).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable

from filemaker_migration.models import ImportRun
from filemaker_migration.models import LedgerEntry
from filemaker_migration.models import SpotCheck
from filemaker_migration.models import State

SAMPLE_SIZE = 24

Stratum = tuple[str, str]  # (year or "unknown", Type or "")


def stratum_of(image: LedgerEntry) -> Stratum:
    year = str(image.image_date.year) if image.image_date else "unknown"
    return year, image.image_type


def draw(
    images: Iterable[LedgerEntry], *, seed: int, size: int = SAMPLE_SIZE
) -> list[LedgerEntry]:
    """Up to `size` images, one per stratum, covering all years and Types first."""
    rng = random.Random(seed)
    strata: dict[Stratum, list[LedgerEntry]] = defaultdict(list)
    for image in sorted(images, key=lambda i: str(i.filemaker_id)):
        strata[stratum_of(image)].append(image)
    order = sorted(strata)
    rng.shuffle(order)
    years: set[str] = set()
    types: set[str] = set()
    covering, rest = [], []
    for key in order:
        year, kind = key
        if year not in years or kind not in types:
            covering.append(key)
            years.add(year)
            types.add(kind)
        else:
            rest.append(key)
    chosen = (covering + rest)[:size]
    return sorted(
        (rng.choice(strata[key]) for key in chosen),
        key=lambda i: (stratum_of(i), str(i.filemaker_id)),
    )


def sample_for(run: ImportRun, imported_ids: list[str], seed: int) -> list[LedgerEntry]:
    """The sample among the run's imported images, as their ledger entries
    (which hold every fact the sheet shows, whatever the clinic's tables)."""
    ids = [i.upper() for i in imported_ids]
    entries = LedgerEntry.objects.filter(filemaker_id__in=ids, state=State.IMPORTED)
    return draw(entries, seed=seed)


def sign_off(
    run: ImportRun,
    sample: list[LedgerEntry],
    approved: set[str],
    *,
    seed: int,
    user,
    note: str,
) -> SpotCheck:
    """Record the verdict on the sample; ids not in the sample are ignored."""
    ids = [str(image.filemaker_id).upper() for image in sample]
    approved = {a.upper() for a in approved}
    return SpotCheck.objects.create(
        run=run,
        signed_by=user,
        seed=seed,
        approved=[i for i in ids if i in approved],
        flagged=[i for i in ids if i not in approved],
        note=note,
    )
