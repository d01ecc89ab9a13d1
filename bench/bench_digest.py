"""Benchmark of digests: tasks per seller per day with and without them, and how long HIGH events take.

    python bench/bench_digest.py                       # the demo's scripted day, and a simulated week (soak)
    python bench/bench_digest.py --only demo           # the demo's day alone (about 20 s)
    python bench/bench_digest.py --days 7 --opportunities 500 --seed 1   # the soak part's size (the default)

Prints a table and asserts nothing. Each variant runs the same world: the demo's portfolio and scripted day
(poller/demo/day.py, the same changes every time), or the soak harness (tests/soak/) on one seed, with every owner
in digests (`mode = "digest"`) against everything at once. The demo's day: the changes, then a cycle, then cycles
until every held digest went out. HIGH events bypass digests, so their latency must not move.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from poller.app import build_app  # noqa: E402
from poller.config import Settings  # noqa: E402
from poller.config.preferences import parse_preferences  # noqa: E402
from poller.demo.day import run_day  # noqa: E402
from poller.demo.sims import ShiftedClock, pointed_at, start_simulators  # noqa: E402
from poller.run.cycle import run_cycle  # noqa: E402
from poller.simulators.portfolio import FALLBACK_OWNER, seed_invitations, seed_portfolio  # noqa: E402

DAY = dt.timedelta(days=1)
VARIANTS = {"at once": None, "digest per cycle": "cycle", "daily digest 08:00": "08:00"}


def demo_day(window: str | None, opportunities: int, workdir: Path) -> dict[str, object]:
    """The demo's day under one setting: tasks per owner, and minutes from the day's end to each HIGH task."""
    clock = ShiftedClock(-DAY)
    yesterday = clock.now()
    sims = start_simulators(clock=clock)
    try:
        with pointed_at(sims):
            portfolio = seed_portfolio(sims.pc, sims.hubspot, opportunities, now=yesterday)
            invitations = seed_invitations(sims.pc, now=yesterday)
            table = {"mode": "digest", "digest_window": window} if window else {}
            settings = Settings(db=str(workdir / f"demo-{window or 'none'}.db"), hubspot_access_token=sims.token,
                                hubspot_base_url=sims.hubspot.url, fallback_owner_id=FALLBACK_OWNER[0],
                                preferences=parse_preferences(table))
            app = build_app(settings, pacing=False, clock=clock.now)
            run_cycle(app, mode="demo")  # the silent baseline
            baseline_tasks = len(sims.hubspot.tasks())
            run_day(sims, portfolio, clock, accepted_invitation=invitations["ACCEPTED"])
            clock.move_to(yesterday + DAY)
            day_end = clock.now()
            run_cycle(app, mode="demo")
            if window and ":" in window:  # a daily window: the next one closes, its digests go out (before a day
                # has passed, so nothing of the next day, such as a conflict's 24 h re-raise, is counted)
                hour, minute = (int(p) for p in window.split(":"))
                close = day_end.replace(hour=hour, minute=minute, second=0, microsecond=0)
                clock.move_to((close if close > day_end else close + DAY) + dt.timedelta(minutes=1))
                run_cycle(app, mode="demo")
            tasks = sims.hubspot.tasks()[baseline_tasks:]
            rows = {r["task_id"]: r for r in app.store.db.query("SELECT task_id, priority FROM outbox")}
            high = [(_created(t) - day_end).total_seconds() / 60 for t in tasks
                    if rows.get(t["id"], {}).get("priority") == "HIGH"]
            app.store.close()
    finally:
        sims.stop()
    return {"tasks": Counter(t["properties"]["hubspot_owner_id"] for t in tasks), "days": 1.0,
            "high_max_min": max(high, default=0.0), "high": len(high)}


def _created(task: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(task["properties"]["hs_createdate"].replace("Z", "+00:00"))


def soak(window: str | None, days: float, opportunities: int, seed: int, workdir: Path) -> dict[str, object]:
    from soak.harness import SoakConfig, run_soak

    # Half the approved opportunities closed, as in the soak's CI variant: the hourly sweep of the open ones is the
    # soak's main cost; the change rates are the month's (intensity 1), so deals see as many changes a day as there.
    report = run_soak(SoakConfig(days=days, opportunities=opportunities, seed=seed, digest=window, closed_share=0.5,
                                 workdir=workdir / f"soak-{window or 'none'}"))
    high = [(s.created - e.at).total_seconds() / 60 for e, s in report.outcome.matched if e.priority == "HIGH"]
    return {"tasks": report.tasks, "days": report.days, "high_max_min": max(high, default=0.0), "high": len(high),
            "missed": len(report.outcome.missed), "duplicated": len(report.outcome.duplicated),
            "reverted": len(report.outcome.reverted), "failures": report.failures()}


def table(title: str, results: dict[str, dict[str, object]]) -> str:
    sellers = sorted({o for r in results.values() for o in r["tasks"]} - {None})  # type: ignore[attr-defined]
    base = results["at once"]
    lines = [title, "tasks per seller per day (owner id: " + ", ".join(sellers) + ")"]
    head = f"{'':22}" + "".join(f"{s:>7}" for s in sellers) + f"{'all':>8}{'vs at once':>12}{'HIGH max min':>14}"
    lines.append(head)
    for name, r in results.items():
        days = float(r["days"])  # type: ignore[arg-type]
        per = [r["tasks"].get(s, 0) / days for s in sellers]  # type: ignore[attr-defined]
        total = sum(r["tasks"].values()) / days  # type: ignore[attr-defined]
        base_total = sum(base["tasks"].values()) / float(base["days"])  # type: ignore[attr-defined,arg-type]
        change = f"{(total / base_total - 1):+.0%}" if base_total else "-"
        extra = "".join(f"  {k} {r[k]}" for k in ("missed", "duplicated", "reverted") if k in r)
        lines.append(f"{name:22}" + "".join(f"{p:>7.1f}" for p in per) + f"{total:>8.1f}{change:>12}"
                     f"{float(r['high_max_min']):>14.1f}{extra}")  # type: ignore[arg-type]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_digest.py", description=__doc__)
    parser.add_argument("--only", choices=["demo", "soak"])
    parser.add_argument("--demo-opportunities", type=int, default=200)
    parser.add_argument("--days", type=float, default=7.0, help="simulated days of the soak part")
    parser.add_argument("--opportunities", type=int, default=500, help="the soak part's portfolio")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="poller-bench-digest-"))
    if args.only != "soak":
        results = {name: demo_day(window, args.demo_opportunities, workdir) for name, window in VARIANTS.items()}
        print(table(f"the demo's scripted day ({args.demo_opportunities} opportunities)", results), flush=True)
    if args.only != "demo":
        results = {name: soak(window, args.days, args.opportunities, args.seed, workdir)
                   for name, window in VARIANTS.items()}
        print(table(f"\nsoak: {args.days:g} simulated days, {args.opportunities} opportunities, seed {args.seed}",
                    results))
        for name, r in results.items():
            if r.get("failures"):
                print(f"  {name}: invariants broken: {r['failures']}")
    print(f"\nwork directory: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
