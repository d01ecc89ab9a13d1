"""Benchmark of delivery: HubSpot calls per notification and notifications/s under a HubSpot rate limit.

Side by side, in one run, against HubSpot simulators with the same rolling limit (default 100 requests / 10 s):

- poller: the outbox, batch creates of ≤100 with inline associations, under its persisted budget (set to the limit);
- naive: what today's tools do with the same hubspot-api-client: one call per create and one per association
  (task create, task→deal PUT, note create, note→deal PUT = 4 calls per notification), sleeping on 429 with a
  doubling back-off (1 s, 2 s, … 10 s) and trying again.

Both send the same notifications (the naive sender takes the poller's rendered rows and owners). The naive sender
needs ~400 s for 1,000 notifications at 100 requests / 10 s, so by default it sends --naive-count (200) and its
1,000 row is extrapolated (and labelled so); --full runs it on all of them.

    python bench/bench_delivery.py                 # 1,000 notifications; naive 200, extrapolated
    python bench/bench_delivery.py --full          # naive on all 1,000 too (~7 minutes)

It also prints what checking an uncertain batch costs: 100 tasks and 100 notes stored but unanswered (as after a
crash), looked up once settled.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true"}
TOKEN = "sim-token"


@dataclass(frozen=True, slots=True)
class Figures:
    sender: str
    notifications: int
    calls: int
    wall: float
    rate_limited: int
    note: str = ""

    @property
    def per_notification(self) -> float:
        return self.calls / self.notifications

    @property
    def throughput(self) -> float:
        return self.notifications / self.wall if self.wall else float("inf")


@contextlib.contextmanager
def changed_portfolio(count: int, limit: int, db: Path) -> Iterator[tuple[Any, Any, Any]]:
    """Both simulators, `count` opportunities with a recorded baseline, all then changed: (app, pc, hub)."""
    from poller.app import build_app
    from poller.config import load_settings
    from poller.run.cycle import run_cycle
    from poller.simulators.hubspot.simulator import HubSpotSimulator
    from poller.simulators.partner_central.simulator import PartnerCentralSimulator
    from poller.simulators.portfolio import opportunity_id, seed

    with PartnerCentralSimulator() as pc, HubSpotSimulator(rate_limit=limit) as hub:
        os.environ["AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING"] = pc.url
        seed(pc, hub, count)
        settings = load_settings(environ={"POLLER_DB": str(db), "HUBSPOT_ACCESS_TOKEN": TOKEN,
                                          "HUBSPOT_BASE_URL": hub.url},
                                 overrides={"hubspot_requests_per_10s": limit, "fallback_owner_id": "190"})
        app = build_app(settings, pacing=False)  # Partner Central pacing off: this measures the HubSpot side
        run_cycle(app)  # the silent baseline (and the one-time poller_event_key property set-up)
        for n in range(count):
            pc.update_opportunity(opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Action Required"}})
        yield app, pc, hub


def run_poller(count: int, limit: int, workdir: Path) -> tuple[Figures, list[dict[str, Any]], Counter[str], float]:
    """Seed `count` opportunities, record a baseline, change them all, and let one cycle deliver the notifications."""
    from poller.run.cycle import run_cycle

    with changed_portfolio(count, limit, workdir / "poller.db") as (app, _pc, hub):
        hub.reset_calls()
        started = time.perf_counter()
        queued = run_cycle(app, deliver=False)  # poll, read the linked deals, plan, commit the outbox
        delivering = time.perf_counter()
        outcome = app.deliver()
        finished = time.perf_counter()
        assert queued.summary["events"] == count, queued.summary
        assert outcome.delivered == count and len(hub.tasks()) == count and len(hub.notes()) == count, outcome
        calls = Counter(c.path for c in hub.calls)
        rows = list(app.store.db.query("SELECT * FROM outbox ORDER BY created_at, event_key"))
        figures = Figures("poller (batched outbox)", count, len(hub.calls), finished - delivering,
                          sum(1 for c in hub.calls if c.status == 429),
                          note=f"whole cycle incl. Partner Central reads {finished - started:.1f} s")
        return figures, rows, calls, delivering - started


def check_uncertain(count: int, limit: int, workdir: Path) -> Counter[str]:
    """A batch of `count` tasks and `count` notes HubSpot stored but whose answers were lost (as after a crash or a
    timeout); once settled, the next delivery looks them up. Returns that check's HubSpot calls by endpoint."""
    import datetime as dt

    from poller.app import build_app
    from poller.clock import utc_now
    from poller.run.cycle import run_cycle

    with changed_portfolio(count, limit, workdir / "uncertain.db") as (app, _pc, hub):
        hub.commit_then_drop("/crm/v3/objects/tasks/batch/create")
        hub.commit_then_drop("/crm/v3/objects/notes/batch/create")
        run_cycle(app)  # both batches stored, both answers lost: every row `unknown`
        settled = build_app(app.settings, pacing=False,
                            clock=lambda: utc_now() + dt.timedelta(seconds=app.settings.settle_time))
        hub.reset_calls()
        settled.deliver()
        done = settled.store.db.execute("SELECT count(*) FROM outbox_status WHERE status = 'done'").fetchone()[0]
        assert done == count and len(hub.tasks()) == count and len(hub.notes()) == count, done
        return Counter(c.path for c in hub.calls)


def naive_send(rows: list[dict[str, Any]], limit: int) -> Figures:
    """One create and one association call per object, through hubspot-api-client, backing off on 429."""
    from hubspot import HubSpot
    from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate

    from poller.simulators.hubspot.simulator import HubSpotSimulator
    from poller.simulators.portfolio import FALLBACK_OWNER, OWNERS

    with HubSpotSimulator(rate_limit=limit) as hub:
        for owner_id, email, first, last in [*OWNERS, FALLBACK_OWNER]:
            hub.add_owner(owner_id, email, first, last)
        for row in rows:
            hub.add_deal(row["deal_id"], dealname=row["subject"][:40], hubspot_owner_id=row["owner_id"])
        hub.reset_calls()
        client = HubSpot(access_token=TOKEN, host=hub.url)
        tasks, notes = client.crm.objects.tasks.basic_api, client.crm.objects.notes.basic_api
        links = client.crm.associations.v4.basic_api
        started = time.perf_counter()
        for row in rows:
            due = str(int(_epoch(row["due_at"]) * 1000))
            task = _with_backoff(lambda row=row, due=due: tasks.create(
                simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties={
                    "hs_timestamp": due, "hs_task_subject": row["subject"], "hs_task_body": row["task_body"],
                    "hs_task_status": "NOT_STARTED", "hs_task_priority": row["priority"], "hs_task_type": "TODO",
                    "hubspot_owner_id": row["owner_id"]}, associations=[])))
            _with_backoff(lambda task=task, row=row: links.create_default("tasks", task.id, "deals", row["deal_id"]))
            note = _with_backoff(lambda row=row: notes.create(
                simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties={
                    "hs_timestamp": str(int(time.time() * 1000)), "hs_note_body": row["note_body"],
                    "hubspot_owner_id": row["owner_id"]}, associations=[])))
            _with_backoff(lambda note=note, row=row: links.create_default("notes", note.id, "deals", row["deal_id"]))
        wall = time.perf_counter() - started
        assert len(hub.tasks()) == len(rows) and len(hub.notes()) == len(rows)
        return Figures("naive (1 call per create/association)", len(rows), len(hub.calls), wall,
                       sum(1 for c in hub.calls if c.status == 429))


def _with_backoff(call: Any) -> Any:
    pause = 1.0
    while True:
        try:
            return call()
        except Exception as exc:
            if getattr(exc, "status", None) != 429:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 10.0)


def _epoch(text: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def extrapolate(measured: Figures, count: int) -> Figures:
    scale = count / measured.notifications
    return Figures(f"naive, extrapolated ×{scale:.1f}", count, round(measured.calls * scale), measured.wall * scale,
                   round(measured.rate_limited * scale), note="EXTRAPOLATED from the measured naive row, not run")


def table(rows: list[Figures]) -> str:
    head = ("sender", "notifications", "HubSpot calls (incl. 429s)", "calls/notification", "wall time", "notifications/s", "429s")
    cells = [(f.sender, f"{f.notifications:,}", f"{f.calls:,}", f"{f.per_notification:.3f}", f"{f.wall:.1f} s",
              f"{f.throughput:,.1f}", f"{f.rate_limited:,}") for f in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(head)),
             "  ".join("-" * w for w in widths)]
    for c in cells:
        lines.append("  ".join(v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(c)))
    notes = [f"  {f.sender}: {f.note}" for f in rows if f.note]
    return "\n".join(lines + (["notes:"] + notes if notes else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="notifications the poller delivers (default 1000)")
    parser.add_argument("--naive-count", type=int, default=200, help="notifications the naive sender sends (200)")
    parser.add_argument("--full", action="store_true", help="run the naive sender on all --count notifications")
    parser.add_argument("--limit", type=int, default=100, help="HubSpot requests per rolling 10 s (default 100)")
    args = parser.parse_args()
    os.environ.update(AWS_ENV)
    logging.basicConfig(level=logging.ERROR)  # the uncertain-batch check warns by design; keep the output to figures
    naive_count = args.count if args.full else min(args.naive_count, args.count)

    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as workdir:
        print(f"poller: {args.count:,} notifications under {args.limit} requests / 10 s …", flush=True)
        poller, rows, calls, queue_time = run_poller(args.count, args.limit, Path(workdir))
        print(f"naive: {naive_count:,} notifications under {args.limit} requests / 10 s "
              f"(~{4 * naive_count / args.limit * 10:.0f} s at best) …", flush=True)
        naive = naive_send(rows[:naive_count], args.limit)
        print("checking an uncertain batch of 100 tasks + 100 notes …", flush=True)
        check = check_uncertain(100, args.limit, Path(workdir))

    figures = [poller, naive]
    if naive_count < args.count:
        figures.append(extrapolate(naive, args.count))
    print()
    print(table(figures))
    print()
    print("poller's HubSpot calls by endpoint: " + ", ".join(f"{p} {n}" for p, n in sorted(calls.items())))
    print(f"poller: planning the cycle (Partner Central reads, deal reads, outbox commit) took {queue_time:.1f} s; "
          f"wall time above is delivery only (first send → all recorded)")
    print(f"checking an uncertain batch of 100 tasks + 100 notes (answers lost, as after a crash), once settled: "
          f"{sum(check.values())} HubSpot calls, nothing sent twice ("
          + ", ".join(f"{p} {n}" for p, n in sorted(check.items())) + ")")
    ratio = naive.per_notification / poller.per_notification
    print(f"calls per notification: poller {poller.per_notification:.3f} vs naive {naive.per_notification:.1f} "
          f"({ratio:,.0f}× fewer)")


if __name__ == "__main__":
    main()
