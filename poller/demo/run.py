"""`poller demo`: the real product path against the simulators: seed, silent baseline, a scripted day, next cycle.

It runs exactly what `poller run` runs (build_app + run_cycle, a real boto3 client and the real hubspot-api-client
over loopback HTTP); only the endpoints, the dummy credentials and the clock are the demo's. The clock starts
"yesterday" so the baseline, the day's changes and the next cycle carry realistic times, and the sweep finds
what a day of AWS-side changes left behind, as it would in production.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from poller.app import build_app
from poller.clock import monotonic
from poller.config import Settings
from poller.core.model import KINDS
from poller.core.timefmt import iso, parse_iso
from poller.demo.day import Step, run_day
from poller.demo.sims import ShiftedClock, Simulators, pointed_at, start_simulators
from poller.errors import ConfigError
from poller.run.cycle import RunResult, run_cycle
from poller.simulators.portfolio import FALLBACK_OWNER, FORMER_OWNER, OWNERS, seed_invitations, seed_portfolio
from poller.store import open_store
from poller.store.open import peek_meta

DAY = dt.timedelta(hours=24)
MARKER = "demo_database"  # meta key: only a database the demo made is ever deleted by the demo
NUMERIC = re.compile(r"/\d+")
NAMES = {o[0]: (f"{o[2]} {o[3]}", o[1]) for o in [*OWNERS, FORMER_OWNER, FALLBACK_OWNER]}
# The kinds the scripted day shows: all but an escalation (it takes 3 days at Action Required) and funding (off
# unless enabled: it needs the Benefits API and its IAM actions).
NOT_IN_A_DAY = ("action_required_overdue", "funding_decision", "funding_expiring")
DEMO_KINDS = tuple(k for k in KINDS if k not in NOT_IN_A_DAY)


@dataclass(slots=True, kw_only=True)
class CycleReport:
    label: str
    summary: dict[str, Any]
    calls: dict[str, int]  # per endpoint or operation, as the simulators saw them


@dataclass(slots=True, kw_only=True)
class Received:
    """One task as it sits in HubSpot, with the outbox row it came from."""

    cycle: int
    owner_id: str
    owner: str
    email: str
    priority: str
    kind: str
    subject: str
    due: str
    deal: str | None
    note: bool
    route: str


@dataclass(slots=True, kw_only=True)
class DemoReport:
    db: str
    pc_url: str
    hubspot_url: str
    portfolio: dict[str, int]
    cycles: list[CycleReport]
    steps: list[Step]
    received: list[Received]
    duration_s: float
    example_opportunity: str
    kinds: dict[str, int] = field(default_factory=dict)  # delivered in the day's cycle, per kind

    @property
    def missing_kinds(self) -> list[str]:
        return [k for k in DEMO_KINDS if not self.kinds.get(k)]

    @property
    def day_calls(self) -> dict[str, int]:
        return self.cycles[-1].summary.get("api_calls") or {}

    @property
    def day_notifications(self) -> int:
        return sum(1 for r in self.received if r.cycle == len(self.cycles))

    def per_notification(self) -> dict[str, float]:
        n = max(self.day_notifications, 1)
        hub = self.cycles[-1].calls
        writes = sum(v for k, v in hub.items() if k.endswith("/batch/create"))
        return {"hubspot_calls": round(self.day_calls.get("hubspot", 0) / n, 2), "hubspot_writes": round(writes / n, 2)}

    def inspect(self) -> list[str]:
        db = self.db
        return [f"poller --db {db} state runs", f"poller --db {db} state outbox",
                f"poller --db {db} state opportunity {self.example_opportunity}",
                f"sqlite3 {db} 'select * from last_runs'"]

    def to_json(self) -> dict[str, Any]:
        return {"db": self.db, "simulators": {"partner_central": self.pc_url, "hubspot": self.hubspot_url},
                "portfolio": self.portfolio, "duration_s": self.duration_s,
                "cycles": [asdict(c) for c in self.cycles], "day": [asdict(s) for s in self.steps],
                "received": [asdict(r) for r in self.received], "kinds_delivered": self.kinds,
                "all_kinds_delivered": not self.missing_kinds, "missing_kinds": self.missing_kinds,
                "calls_per_notification": self.per_notification(), "inspect": self.inspect()}


def fresh_database(path: Path) -> None:
    """Delete a database an earlier demo made; refuse to delete anything else."""
    if path.exists():
        # Read only: open_store() would migrate (write to) someone else's database.
        if not peek_meta(path, MARKER):
            raise ConfigError(f"db: {path} exists and was not made by `poller demo`; choose another --db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(*, opportunities: int = 200, db: str | Path = "state/demo.db") -> DemoReport:
    started = monotonic()
    path = Path(db)
    fresh_database(path)
    clock = ShiftedClock(-DAY)  # the baseline runs "yesterday"; the next cycle runs now
    yesterday = clock.now()
    sims = start_simulators(clock=clock)
    try:
        with pointed_at(sims):
            portfolio = seed_portfolio(sims.pc, sims.hubspot, opportunities, now=yesterday)
            invitations = seed_invitations(sims.pc, now=yesterday)
            store = open_store(path)
            try:
                store.set_meta(MARKER, True)
                settings = Settings(db=str(path), hubspot_access_token=sims.token,
                                    hubspot_base_url=sims.hubspot.url, fallback_owner_id=FALLBACK_OWNER[0])
                app = build_app(settings, pacing=False, clock=clock.now, store=store)
                cycles = [_cycle(app, sims, "baseline (yesterday)")]
                steps = run_day(sims, portfolio, clock, accepted_invitation=invitations["ACCEPTED"],
                                pending_invitation=invitations["PENDING"])
                clock.move_to(yesterday + DAY)
                cycles.append(_cycle(app, sims, "next cycle (today)"))
                received = _received(app.store, sims)
            finally:
                store.close()
    finally:
        sims.stop()
    day = [r for r in received if r.cycle == len(cycles)]
    example = next((s.subject for s in steps if s.expect == "conflict_detected"), portfolio[0].opportunity_id)
    return DemoReport(db=str(path), pc_url=sims.pc.url, hubspot_url=sims.hubspot.url,
                      portfolio={"opportunities": len(portfolio), "deals": len(portfolio), "owners": len(OWNERS),
                                 "former_owners": 1, "fallback_owners": 1, "invitations": len(invitations)},
                      cycles=cycles, steps=steps, received=received, example_opportunity=example,
                      duration_s=round(monotonic() - started, 2), kinds=dict(Counter(r.kind for r in day)))


def _cycle(app: Any, sims: Simulators, label: str) -> CycleReport:
    sims.pc.reset_calls()
    sims.hubspot.reset_calls()
    result: RunResult = run_cycle(app, mode="demo")
    if result.status == "failed":  # "partial" (a budget spent) is reported as is; the kinds check tells the rest
        raise RuntimeError(f"the {label} cycle failed: {result.summary.get('error')}")
    calls = Counter(f"PartnerCentral.{op}" for op in sims.pc.operation_counts().elements())
    calls.update(c.method + " " + NUMERIC.sub("/{id}", c.path) for c in list(sims.hubspot.calls))
    return CycleReport(label=label, summary=result.summary, calls=dict(sorted(calls.items())))


def _received(store: Any, sims: Simulators) -> list[Received]:
    """Every task HubSpot holds, joined to the outbox row that made it (run, kind, route)."""
    rows = {r["task_id"]: r for r in store.outbox.sent_tasks()}
    runs = sorted({r["run_id"] for r in rows.values()})
    found = []
    for task in sims.hubspot.tasks():
        row = rows.get(task["id"])
        if row is None:
            continue
        props = task["properties"]
        owner_id = props.get("hubspot_owner_id") or ""
        name, email = NAMES.get(owner_id, (owner_id, ""))
        due = _moment(props.get("hs_timestamp"))
        deals = task["associations"].get("deals") or []
        found.append(Received(cycle=runs.index(row["run_id"]) + 1, owner_id=owner_id, owner=name, email=email,
                              priority=props.get("hs_task_priority") or row["priority"], kind=row["kind"],
                              subject=props.get("hs_task_subject") or "",
                              due=iso(due)[:16].replace("T", " ") if due else "",
                              deal=deals[0] if deals else None, note=row["note_state"] == "done",
                              route=row["route_reason"] or ""))
    order = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
    return sorted(found, key=lambda r: (r.owner, r.cycle, order.get(r.priority, 3), r.kind))


def _moment(value: str | None) -> dt.datetime | None:
    """A HubSpot datetime property: epoch milliseconds or ISO 8601."""
    if not value:
        return None
    if value.isdigit():
        return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
    try:
        return parse_iso(value)
    except ValueError:
        return None
