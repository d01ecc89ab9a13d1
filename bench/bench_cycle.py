"""Benchmark of the poller's cycle: prints figures, asserts nothing (see bench/README.md).

    python bench/bench_cycle.py            # full size: (a) 10,000  (b) 100,000  (c) 1,000 changes on 100,000
    python bench/bench_cycle.py --quick    # 10x smaller

Each figure runs in a fresh process, so its peak RSS is its own; the Partner Central simulator runs in another
process (as the real service would be remote), which also keeps the two from sharing one core's GIL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PAGE = 100
BASE = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # records are spread one second apart from here, long before "now"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true"}


# --- the records both the simulator and the pre-built snapshots use (so (c) runs on top of (b)'s database) ----------

def wire(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    from poller.simulators.portfolio import aws_summary_record, opportunity_record

    opportunity = opportunity_record(n, rng=random.Random(n))
    opportunity["LastModifiedDate"] = wire(BASE + dt.timedelta(seconds=n))
    opportunity["CreatedDate"] = wire(BASE - dt.timedelta(days=30))
    return opportunity, aws_summary_record(n)


def changed_ids(total: int, changes: int) -> list[int]:
    step = max(total // changes, 1)
    return list(range(0, total, step))[:changes]


# --- the simulator process -----------------------------------------------------------------------------------------

def simulator_process(conn: Any) -> None:
    from poller.simulators.partner_central.simulator import PartnerCentralSimulator
    from poller.simulators.portfolio import person

    sim = PartnerCentralSimulator().start()
    conn.send(sim.url)
    while True:
        command, *args = conn.recv()
        if command == "load":
            (count,) = args
            started = time.perf_counter()
            for n in range(count):
                sim.put_opportunity(*record(n))
            conn.send(time.perf_counter() - started)
        elif command == "change":
            total, changes = args
            from poller.simulators.portfolio import opportunity_id

            for i, n in enumerate(changed_ids(total, changes)):
                oid = opportunity_id(n)
                kind = i % 4
                if kind == 0:
                    sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Action Required",
                                                               "ReviewComments": "Add the customer's use case"}})
                elif kind == 1:
                    sim.update_aws_summary(oid, {"Insights": {"EngagementScore": "High"}}, touch=True)
                elif kind == 2:
                    team = sim.aws_summary(oid)["OpportunityTeam"]
                    sim.update_aws_summary(oid, {"OpportunityTeam": [*team, person("Nora", "Quinn", "AWSSalesRep")]},
                                           touch=True)
                else:
                    sim.update_aws_summary(oid, {"LifeCycle": {"Stage": "Technical Validation"}}, touch=True)
            conn.send(None)
        elif command == "reset":
            sim.reset_calls()
            conn.send(None)
        elif command == "counts":
            conn.send(dict(sim.operation_counts()))
        elif command == "stop":
            sim.stop()
            conn.send(None)
            return


class Simulator:
    def __init__(self, ctx: Any):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=simulator_process, args=(child,), daemon=True)
        self.process.start()
        self.url = self.conn.recv()

    def ask(self, *command: Any) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self.process.join(10)


# --- measured work, each in its own process ------------------------------------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build(db: str, url: str | None = None) -> Any:
    os.environ.update(AWS_ENV)
    if url:
        os.environ["AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING"] = url
    from poller.app import build_app
    from poller.config import load_settings

    settings = load_settings(environ={"POLLER_DB": db, "POLLER_RUN_TIME_BUDGET": "3600",
                                      "POLLER_PC_DAILY_BUDGET": "1000000"})
    return build_app(settings, pacing=False)


def cycle_worker(db: str, url: str, queue: Any) -> None:
    from poller.run.cycle import run_cycle

    app = build(db, url)
    start_rss = rss_mb()
    started = time.perf_counter()
    result = run_cycle(app, mode="run", deliver=False)
    wall = time.perf_counter() - started
    queue.put({"wall": wall, "peak": peak_mb(), "start_rss": start_rss, "status": result.status,
               "pages": result.summary["pages"], "changed": result.summary["opportunities_changed"],
               "swept": result.summary["swept"], "events": result.summary["events"],
               "notifications": len(result.notifications), "calls": dict(app.api_calls)})


def commit_worker(db: str, count: int, queue: Any) -> None:
    from poller.core.normalize import snapshot_from
    from poller.run.commit import Fetched, derive_and_commit
    from poller.run.context import CURSOR, Run, open_run

    app = build(db)
    start_rss = rss_mb()
    run = open_run(app, "bench", when_held="the benchmark did not start")
    assert isinstance(run, Run), run
    building = committing = 0.0
    with run:
        for start in range(0, count, PAGE):
            t0 = time.perf_counter()
            fetched = [Fetched(snapshot=snapshot_from(*record(n), catalog="AWS"), aws_read=True)
                       for n in range(start, min(start + PAGE, count))]
            high = max(f.snapshot.last_modified for f in fetched)
            t1 = time.perf_counter()
            derive_and_commit(run, fetched, baseline=True, source="cycle", cursor=(CURSOR, high))
            t2 = time.perf_counter()
            building += t1 - t0
            committing += t2 - t1
        run.tally.changed = count
        run.close()
    queue.put({"wall": committing, "build": building, "peak": peak_mb(), "start_rss": start_rss,
               "events": run.tally.events, "db_mb": sum(p.stat().st_size for p in Path(db).parent.glob(
                   Path(db).name + "*")) / 2**20})


def measured(ctx: Any, target: Any, *args: Any) -> dict[str, Any]:
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


# --- the three figures ---------------------------------------------------------------------------------------------

def figure_a(ctx: Any, work: Path, size: int) -> dict[str, Any]:
    sim = Simulator(ctx)
    try:
        load = sim.ask("load", size)
        result = measured(ctx, cycle_worker, str(work / "a.db"), sim.url)
        result["ops"] = sim.ask("counts")
        result["load"] = load
        return result
    finally:
        sim.stop()


def figure_b(ctx: Any, work: Path, size: int) -> dict[str, Any]:
    return measured(ctx, commit_worker, str(work / "bc.db"), size)


def figure_c(ctx: Any, work: Path, size: int, changes: int) -> dict[str, Any]:
    sim = Simulator(ctx)
    try:
        load = sim.ask("load", size)
        sim.ask("change", size, changes)
        sim.ask("reset")
        result = measured(ctx, cycle_worker, str(work / "bc.db"), sim.url)
        result["ops"] = sim.ask("counts")
        result["load"] = load
        return result
    finally:
        sim.stop()


def ops_text(ops: dict[str, int]) -> str:
    short = {"ListOpportunities": "List", "GetOpportunity": "Get", "GetAwsOpportunitySummary": "Summary",
             "ListEngagementInvitations": "Inv", "GetEngagementInvitation": "GetInv"}
    return " ".join(f"{short.get(k, k)} {v:,}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10x smaller: (a) 1,000 (b) 10,000 (c) 100 on 10,000")
    parser.add_argument("--only", default="abc", help="which figures to run, e.g. 'a' or 'bc' (c needs b)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (state databases)")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    a_size, b_size, c_changes = 10_000 // scale, 100_000 // scale, 1_000 // scale
    ctx = mp.get_context("spawn")
    work = Path(tempfile.mkdtemp(prefix="poller-bench-"))
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    print(f"poller cycle benchmark ({'quick' if args.quick else 'full'}), {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, work dir {work}", flush=True)
    try:
        if "a" in args.only:
            print(f"(a) baseline cycle of {a_size:,} opportunities through the simulator …", flush=True)
            a = figure_a(ctx, work, a_size)
            rows.append(("(a) baseline cycle via simulator", f"{a_size:,} opps", f"{a['wall']:.1f} s",
                         f"{a['peak']:.0f} MB", f"{sum(a['ops'].values()):,}",
                         f"{a_size / a['wall']:,.0f} opps/s; {a['status']}, {a['pages']} pages, {a['events']} events"))
            notes.append(f"(a) PC calls: {ops_text(a['ops'])}; RSS after imports {a['start_rss']:.0f} MB; "
                         f"simulator load {a['load']:.1f} s")
        if "b" in args.only or "c" in args.only:
            print(f"(b) diff + commit of {b_size:,} snapshots (pages of {PAGE}, baseline) …", flush=True)
            b = figure_b(ctx, work, b_size)
            ok = "within" if b["wall"] < 60 and b["peak"] < 500 else "OUTSIDE"
            rows.append(("(b) diff + commit snapshots", f"{b_size:,} snaps", f"{b['wall']:.1f} s",
                         f"{b['peak']:.0f} MB", "0",
                         f"{b_size / b['wall']:,.0f} snaps/s; db {b['db_mb']:.0f} MB; {ok} target <60 s, <500 MB"))
            notes.append(f"(b) building the snapshots (not counted) took {b['build']:.1f} s; "
                         f"RSS after imports {b['start_rss']:.0f} MB; events {b['events']}")
        if "c" in args.only:
            print(f"(c) cycle with {c_changes:,} changed opportunities on a {b_size:,} baseline …", flush=True)
            c = figure_c(ctx, work, b_size, c_changes)
            rows.append((f"(c) {c_changes:,} changes on {b_size:,}", f"{c_changes:,} chg", f"{c['wall']:.1f} s",
                         f"{c['peak']:.0f} MB", f"{sum(c['ops'].values()):,}",
                         f"{c['status']}, {c['pages']} pages, {c['changed']} read, {c['swept']} swept, "
                         f"{c['events']} events"))
            notes.append(f"(c) PC calls: {ops_text(c['ops'])}; RSS after imports {c['start_rss']:.0f} MB; "
                         f"simulator load {c['load']:.1f} s")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    header = ("figure", "size", "wall", "peak RSS", "PC calls", "notes")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
    print()
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
