"""Faults on the wire and in the data: throttling, 5xx, 429 storms, late commits, broken records; as Poisson streams."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

from soak.scripts import DWELL, Script, Streams, held, hours, pick
from soak.state import Opp
from soak.world import World

TASKS = "/crm/v3/objects/tasks/batch/create"
NOTES = "/crm/v3/objects/notes/batch/create"
DEALS = "/crm/v3/objects/deals/batch/read"


def late_commit(hub, path: str) -> None:  # noqa: ANN001
    """HubSpot stores the batch, but only after the client has given up (a timeout on a slow create): an immediate
    lookup finds nothing, so a poller that does not wait for the create to settle sends it twice."""
    hub.commit_late(path, delay=45.0)


# Per simulated day, whatever the portfolio size.
RATES = {"pc_throttle": 4, "pc_5xx": 3, "malformed": 2, "garbled": 0.5, "list_garbled": 0.3,
         "hub_storm": 1, "hub_5xx_read": 2, "hub_5xx_write": 1.5, "late_commit": 2, "kill": 2,
         "slack_fault": 3, "sns_fault": 3}
SINK_FAULTS = ("slack_fault", "sns_fault")


class Faults:
    """Draws faults each gap and injects them; counts what was injected for the report."""

    def __init__(self, world: World, streams: Streams, rates: dict[str, float], enabled: set[str],
                 sinks: Any = None):
        self.world, self.streams, self.enabled, self.sinks = world, streams, enabled, sinks
        self.rates = {name: rate for name, rate in rates.items() if name in enabled}
        self.injected: Counter[str] = Counter()
        self.kill_next = False

    def inject(self, gap: dt.timedelta) -> None:
        # The sinks' faults come from their own random stream, so a seed's world and its other faults stay the same
        # with or without them.
        world = {name: rate for name, rate in self.rates.items() if name not in SINK_FAULTS}
        sinks = {name: rate for name, rate in self.rates.items() if name in SINK_FAULTS}
        drawn = self.streams.arrivals(world, gap, 1) + (self.sinks.arrivals(sinks, gap) if self.sinks else [])
        for name in drawn:
            action: Callable[[], object] = getattr(self, name)
            if action() is not False:
                self.injected[name] += 1

    # --- Partner Central
    def pc_throttle(self) -> None:
        self.world.pc.fail_next("*", "ThrottlingException", times=self.world.rng.randint(3, 25))

    def pc_5xx(self) -> None:
        operation = self.world.rng.choice(["GetOpportunity", "GetAwsOpportunitySummary", "ListOpportunities",
                                           "ListEngagementInvitations"])
        self.world.pc.fail_next(operation, "InternalServerException", times=self.world.rng.randint(1, 3))

    def _broken(self, break_it: Callable[[Opp], None], low: float, high: float) -> bool:
        """Break one quiet opportunity's answers for a while; a partner edit makes the poller read it meanwhile."""
        world = self.world
        aspects = ("review", "conflict", "record")
        opp = pick(world, aspects, lambda o: o.review is not None)
        if opp is None:
            return False

        def body() -> Script:
            break_it(opp)
            world.edit_pc(opp, next_steps=f"Partner: notes updated ({world.rng.randint(1, 9999)})")
            yield hours(world.rng, low, high)
            world.pc.heal(opp.oid)
        self.streams.start(held(world, opp, aspects, DWELL, body()), world.clock.now())
        return True

    def malformed(self) -> bool:
        return self._broken(lambda o: self.world.pc.malform(o.oid), 1, 3)

    def garbled(self) -> bool:
        """A wrong-typed structure botocore cannot map (issue 8: today it fails every cycle that reads it)."""
        return self._broken(lambda o: self.world.pc.garble(o.oid, "GetOpportunity", LifeCycle="oops"), 0.5, 1.5)

    def list_garbled(self) -> bool:
        """One listed item with a LastModifiedDate nobody can parse (issue 8: today the whole page fails)."""
        return self._broken(lambda o: self.world.pc.garble(o.oid, "ListOpportunities",
                                                           LastModifiedDate="not-a-date"), 0.5, 1)

    # --- HubSpot
    def hub_storm(self) -> None:
        self.world.hub.storm_429(self.world.rng.randint(10, 40))

    def hub_5xx_read(self) -> None:
        self.world.hub.fail_next(DEALS, self.world.rng.choice([500, 502, 504]), times=self.world.rng.randint(1, 3))

    def hub_5xx_write(self) -> None:
        self.world.hub.fail_next(self.world.rng.choice([TASKS, NOTES]), 502, method="POST")

    def late_commit(self) -> None:
        late_commit(self.world.hub, self.world.rng.choice([TASKS, NOTES]))

    # --- sinks beyond HubSpot (soak/sinks.py)
    def slack_fault(self) -> bool:
        if self.sinks is None:
            return False
        self.sinks.slack_fault()
        return True

    def sns_fault(self) -> bool:
        if self.sinks is None:
            return False
        self.sinks.sns_fault()
        return True

    # --- the process
    def kill(self) -> None:
        self.kill_next = True
