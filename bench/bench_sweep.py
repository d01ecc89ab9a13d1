"""Benchmark of the sweep's due query: prints figures, asserts nothing (see bench/README.md).

    python bench/bench_sweep.py            # 100,000 open opportunities
    python bench/bench_sweep.py --quick    # 10,000

What is due is computed at query time from each last AWS read and the period in force (so a new
POLLER_SWEEP_PERIOD applies at once): this measures that query on a full database, for a few periods.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from poller.core.timefmt import iso  # noqa: E402
from poller.store import open_store  # noqa: E402

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def fill(store, count: int) -> None:
    """`count` open opportunities, last read evenly over the past two hours (a steady hourly sweep)."""
    rows = []
    for n in range(count):
        read = iso(NOW - dt.timedelta(seconds=7200 * n / count))
        rows.append((f"O{1_000_000 + n}", "AWS", read, "h", 1, "{}", read, read, read))
    with store.atomic():
        store.db.conn.executemany(
            "INSERT INTO opportunities (opportunity_id, catalog, last_modified, hash, is_open, snapshot, "
            "first_seen_at, updated_at, aws_read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def timed(fn, repeat: int = 3) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = len(fn())
        best = min(best, time.perf_counter() - started)
    return best, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    count = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as work:
        store = open_store(Path(work) / "sweep.db")
        fill(store, count)
        print(f"sweep due query over {count:,} open opportunities (best of 3)")
        print(f"{'period':>8}  {'due':>8}  {'ms':>8}")
        for period in (300.0, 3600.0, 14400.0):
            seconds, due = timed(lambda p=period: store.records.due_for_sweep(NOW, p, count))
            print(f"{period / 60:>7.0f}m  {due:>8,}  {seconds * 1000:>8.1f}")
        seconds, due = timed(lambda: store.records.due_for_sweep(NOW, 3600.0, count, every=True))
        print(f"{'--sweep':>8}  {due:>8,}  {seconds * 1000:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
