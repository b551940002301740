"""FileMaker's back-off, shared by every worker of a run on every host.

Each process halves its own in-flight requests when FileMaker answers
429/502/503 (dataapi/_limiter.py). Alone, N processes (or hosts) would each
keep their own limit, and N of them would add up to a storm on the one
server. So the run keeps one limit in the database (ImportRun.filemaker_limit,
set when the run starts to what one process of it would allow itself, times
the processes): a worker that met an overload halves it, one that met none
since it last looked raises it by one, and each worker keeps to its share, the
limit divided by the workers alive. A host that joins takes a share of the
same limit, so joining never adds to what FileMaker receives at once.
"""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Greatest
from django.db.models.functions import Least

from filemaker_migration.dataapi import AdaptiveLimiter
from filemaker_migration.models import ImportRun
from filemaker_migration.pipeline import claims


class SharedBackoff:
    def __init__(self, run_id: int, limiter: AdaptiveLimiter) -> None:
        self.run_id = run_id
        self.limiter = limiter
        self._overloads = limiter.overloads
        self._ceiling = ImportRun.objects.get(pk=run_id).filemaker_limit

    def sync(self) -> int:
        """Bring the run's limit and this worker's share up to date; the share."""
        runs = ImportRun.objects.filter(pk=self.run_id)
        overloads = self.limiter.overloads
        if self._ceiling is None:
            return self.limiter.maximum  # a run without a shared limit
        if overloads > self._overloads:
            runs.update(filemaker_limit=Greatest(1, F("filemaker_limit") / 2))
        else:
            runs.update(filemaker_limit=Least(self._ceiling, F("filemaker_limit") + 1))
        self._overloads = overloads
        limit = runs.values_list("filemaker_limit", flat=True).get()
        share = max(1, limit // max(1, claims.live_workers(self.run_id)))
        self.limiter.cap(share)
        return share
