"""The end-of-run summary printed for people."""

from __future__ import annotations

from filemaker_migration.pipeline.accounting import OUTCOMES
from filemaker_migration.pipeline.accounting import ImportResult


def format_summary(result: ImportResult) -> str:
    seen = result.seen
    title = (
        "Dry run (nothing written)" if result.run_id is None else f"Run {result.run_id}"
    )
    lines = [f"{title}: {result.status}, {seen} record(s) seen"]
    for name in OUTCOMES:
        lines.append(f"  {name:<18} {result.totals.get(name, 0):>7}")
    for reason, count in sorted(result.reasons.items()):
        lines.append(f"    {reason:<40} {count:>5}")
    lines.append(f"  batches created    {result.batches_created:>7}")
    mb = result.bytes / 1e6
    rate = seen / result.seconds if result.seconds else 0.0
    lines.append(f"  bytes              {mb:>10.1f} MB in {result.seconds:.1f} s")
    lines.append(f"  rate               {rate:>10.1f} records/s")
    used = sum(result.container_usage.values())
    if used:
        lines.append("  container field usage:")
        for field, count in sorted(
            result.container_usage.items(), key=lambda kv: -kv[1]
        ):
            lines.append(f"    {field:<18} {count:>7}  {100 * count / used:5.1f}%")
    lines.append(f"  report             {result.report_path}")
    return "\n".join(lines)
