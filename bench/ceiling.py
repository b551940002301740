"""The source's ceiling: download the same containers the import would, with the
same concurrency and the same client, and do nothing else with them.

    python -m bench.ceiling --dataset DIR --workers 16 [--limit N]

Reads FM_URL, FM_CA_BUNDLE, FM_PASSWORD from the environment (as the import
does, through Django settings) and prints one JSON line: records, bytes, seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


class _Discard:
    """A sink that only counts: the ceiling does no work with the bytes."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        return len(chunk)

    def seek(self, *_: object) -> int:
        return 0

    def truncate(self, *_: object) -> int:
        self.size = 0
        return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from filemaker_migration.conf import FileMakerSettings

    expected = json.loads((args.dataset / "expected.json").read_text())["records"]
    fm = FileMakerSettings.from_settings()
    started = time.monotonic()
    with fm.client(max_concurrency=args.workers) as client:
        # Paging as the import does: by recid, a page at a time, so the
        # ceiling pays the same Data API round trips for the record lists.
        def pages():
            last = 0
            while True:
                page = client.find(
                    fm.layout,
                    [{"recid": f">{last}"}],
                    sort=[{"fieldName": "recid", "sortOrder": "ascend"}],
                    limit=100,
                )
                if not page.records:
                    return
                yield from page.records
                last = int(page.records[-1].get("recid"))

        def fetch(record) -> int:
            field = expected[record.record_id]["field"]
            if not field:
                return 0
            sink = _Discard()
            client.download_container(record.get(field), sink, max_bytes=10**9)
            return sink.size

        records = []
        for record in pages():
            records.append(record)
            if args.limit and len(records) >= args.limit:
                break
        with ThreadPoolExecutor(args.workers) as pool:
            sizes = list(pool.map(fetch, records))
    seconds = time.monotonic() - started
    downloaded = sum(1 for size in sizes if size)
    print(json.dumps({"records": downloaded, "bytes": sum(sizes), "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
