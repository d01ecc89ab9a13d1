"""The soak: seed a world, run poller every 5 simulated minutes against both simulators, inject changes and faults
between cycles, then hold HubSpot's contents against the ground truth."""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poller.simulators.call_log import log_call_times
from poller.simulators.hubspot.simulator import HubSpotSimulator
from poller.simulators.partner_central.simulator import PartnerCentralSimulator
from soak import scripts, scripts_aws
from soak.budgets import budget_windows
from soak.clock import SharedClock
from soak.compare import compare, sent_notifications
from soak.faults import RATES as FAULT_RATES
from soak.faults import Faults
from soak.procs import TOKEN, Daemon, KillRun, child_env
from soak.report import Report
from soak.scripts import Streams
from soak.seed import seed_world
from soak.state import LEAVER
from soak.truth import Truth
from soak.world import World

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
# Scripts started per opportunity per simulated day (× portfolio size), or per day (absolute) for the others.
PER_OPPORTUNITY = {
    "new_submission": 0.004, "new_draft": 0.002, "existing_review": 0.006, "submit_draft": 0.003,
    "review_glitch": 0.001, "score_change": 0.008, "score_flap": 0.003, "seller_assigned": 0.005,
    "resources": 0.005, "resources_flap": 0.002, "aws_update": 0.005, "partner_edit": 0.005, "conflict": 0.002,
    "reassign": 0.002,
}
PER_THOUSAND = {"invitation": 3, "partner_invitation": 1, "quick_referral": 0.5}
PER_DAY = {"tie": 1, "late_arrival": 3}
LEAVES_AFTER = dt.timedelta(days=0.4)  # × days: when Erin leaves the company (her HubSpot owner is archived)
SCRIPTS = {**{name: getattr(scripts, name, None) or getattr(scripts_aws, name) for name in PER_OPPORTUNITY},
           "invitation": scripts_aws.invitation,
           "partner_invitation": lambda w: scripts_aws.invitation(w, sender="Northwind Cloud Partners"),
           "quick_referral": scripts_aws.quick_referral, "tie": scripts.tie, "late_arrival": scripts.late_arrival}


@dataclass(frozen=True, slots=True, kw_only=True)
class SoakConfig:
    days: float = 30
    opportunities: int = 3000
    seed: int = 1
    cadence: dt.timedelta = dt.timedelta(minutes=5)
    drain: dt.timedelta = dt.timedelta(hours=4)
    faults: frozenset[str] = frozenset(FAULT_RATES)
    fault_rates: tuple[tuple[str, float], ...] = ()  # per-day rates that replace the defaults (faults.RATES)
    intensity: float = 1.0  # × every change rate: a small portfolio can still see every kind of change
    closed_share: float = 0.0  # more closed opportunities in the starting portfolio (see seed_world)
    plant: str | None = None
    workdir: Path | None = None
    progress: bool = False
    pc_daily_budget: int = 50_000  # poller's defaults, as the README states them
    sweep_hours: float = 1.0
    pc_per_second: float = 5.0
    hub_per_10s: int = 50


@dataclass(slots=True)
class Cycles:
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    deferred: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    kill_runs: int = 0
    rss_kb: dict[int, int] = field(default_factory=dict)  # simulated day → the daemon's resident memory
    longest: float = 0.0  # simulated seconds


class Soak:
    def __init__(self, config: SoakConfig):
        self.config = config
        self.workdir = config.workdir or Path(tempfile.mkdtemp(prefix="poller-soak-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.clock = SharedClock(self.workdir / "clock", start=START)
        self.rng = random.Random(config.seed)
        self.truth = Truth()
        self.cycles = Cycles()
        self.changes_from: dt.datetime | None = None

    def run(self) -> Report:
        started = time.monotonic()
        with PartnerCentralSimulator(clock=self.clock.now) as pc, \
                HubSpotSimulator(token=TOKEN, rate_limit=100, clock=self.clock.time) as hub:
            self.pc, self.hub = pc, hub
            pc_log, hub_log = log_call_times(pc, self.clock.time), log_call_times(hub, self.clock.time)
            world = self.world = World(pc, hub, self.clock, self.truth, self.rng)
            seed_world(world, self.config.opportunities, closed_share=self.config.closed_share)
            self.streams = Streams(world, self.rng)
            self.faults = Faults(world, self.streams, {**FAULT_RATES, **dict(self.config.fault_rates)},
                                 set(self.config.faults))
            budget = {"POLLER_PC_DAILY_BUDGET": str(self.config.pc_daily_budget),
                      "POLLER_SWEEP_PERIOD": f"{self.config.sweep_hours:g}h"}
            self.env = child_env(self.workdir, pc.url, hub.url, self.config.plant, budget)
            self.daemon = Daemon(self.workdir, self.env, self.config.seed)
            try:
                self._baseline()
                self._month()
            finally:
                self.daemon.stop()
            sent = sent_notifications(hub, self.workdir / "poller.db")
            outcome = compare(self.truth.expected, sent, world)
            windows = budget_windows(pc_log, hub_log, pc_per_second=self.config.pc_per_second,
                                     pc_per_day=self.config.pc_daily_budget, hub_per_10s=self.config.hub_per_10s)
            assert self.changes_from is not None
            since = self.changes_from.timestamp()
            return Report(config=self.config, workdir=self.workdir, outcome=outcome, windows=windows,
                          cycles=self.cycles, sent=len(sent), hub_calls=len(hub_log),
                          pc_calls=sum(1 for t in pc_log.times if t >= since),
                          pc_operations=pc_log.counts(), hub_operations=hub_log.counts(),
                          faults=self.faults.injected, simulated=self.clock.now() - self.changes_from,
                          wall_seconds=time.monotonic() - started)

    # --- phases
    def _baseline(self) -> None:
        """Cycles until the silent baseline is complete; the world stays still meanwhile."""
        for _ in range(500):
            result = self._cycle()
            if result and result["summary"].get("baseline") is False:
                break
        self.world.baseline = False
        self.changes_from = self.clock.now()

    def _month(self) -> None:
        config, clock = self.config, self.clock
        assert self.changes_from is not None
        end = self.changes_from + dt.timedelta(days=config.days)
        slot = clock.now()
        while True:
            now = clock.now()
            while slot <= now:
                slot += config.cadence
            if now < end:
                self._between(now, slot)
            elif self.streams.active:
                self.streams.heap.clear()  # the month is over: unfinished scripts stop where they are
            if now >= end + config.drain:
                return
            clock.set(slot)
            day = min(int((slot - self.changes_from) / dt.timedelta(days=1)), math.ceil(config.days) - 1)
            kill = self.faults.kill_next and now < end
            self.faults.kill_next = False
            result = self._kill_run() if kill else self._cycle()
            if result is not None:
                self.cycles.rss_kb[day] = result["rss_kb"]
            if config.progress and slot.minute == 0 and slot.hour % 6 == 0:
                print(f"[soak] {slot:%Y-%m-%d %H:%M} day {day}: {len(self.truth.expected)} expected, "
                      f"cycles {dict(self.cycles.statuses)}", file=sys.stderr, flush=True)

    def _between(self, now: dt.datetime, slot: dt.datetime) -> None:
        """Start this gap's scripts at random instants inside it, run every step due, inject faults."""
        gap = slot - now
        count = len(self.world.opp_list)
        per_thousand = {k: v / 1000 for k, v in PER_THOUSAND.items()}
        for rates, size in ((PER_OPPORTUNITY, count), (per_thousand, count), (PER_DAY, 1)):
            for name in self.streams.arrivals(rates, gap, size * self.config.intensity):
                self.streams.start(_lazy(SCRIPTS[name], self.world), now + gap * self.rng.random())
        for at in self.streams.steps_before(slot):
            self.clock.set(max(at, now))
        self.clock.set(slot)
        assert self.changes_from is not None
        if LEAVER not in self.world.archived and slot >= self.changes_from + self.config.days * LEAVES_AFTER:
            self.world.archive_owner(LEAVER)  # her deals' notifications go to the fallback owner from now on
        self.faults.inject(gap)
        self.world.high_water = self.world.newest

    def _cycle(self) -> dict[str, Any] | None:
        begun = self.clock.time()
        result = self.daemon.cycle()
        self._count(result["status"], result["summary"], self.clock.time() - begun)
        return result

    def _kill_run(self) -> None:
        """`poller run` in a new process, SIGKILLed at a random call (before or after HubSpot commits it)."""
        calls = max(3, int(self.rng.expovariate(1 / 40)))
        run = KillRun(self.workdir, self.env, self.config.seed + self.cycles.kill_runs, self.rng.randint(1, calls))
        self.pc.on_call(run.hook)
        when = self.rng.choice(["before_commit", "after_commit"])
        self.hub.on_request("/", times=10**9, **{when: run.hook})
        try:
            code = run.run()
        finally:
            self.pc.on_call(None)
            self.hub.clear_hooks()
        self.cycles.kill_runs += 1
        self.cycles.kills += run.killed
        self.cycles.statuses["killed" if run.killed else f"run exit {code}"] += 1

    def _count(self, status: str, summary: dict[str, Any], seconds: float) -> None:
        self.cycles.statuses[status] += 1
        self.cycles.longest = max(self.cycles.longest, seconds)
        if summary.get("error"):
            self.cycles.errors[str(summary["error"])[:100]] += 1
        for reason in filter(None, str(summary.get("deferred") or "").split("; ")):
            self.cycles.deferred[reason[:80]] += 1


def _lazy(factory, world: World) -> scripts.Script:  # noqa: ANN001
    """Pick the opportunity when the script starts, not when it was drawn."""
    script = factory(world)
    if script is not None:
        yield from script


def run_soak(config: SoakConfig) -> Report:
    return Soak(config).run()
