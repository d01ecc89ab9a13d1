"""Change streams: each script is a generator that changes one opportunity (or invitation) step by step.

A script holds "aspects" of its opportunity (review, score, team, …) while it runs and for DWELL after, so one
aspect never changes twice before a correct poller has read it, even through throttling storms and outages; that
is what makes the world's transitions the poller's transitions. Flaps ("briefly null") are deliberately shorter.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
from collections.abc import Callable, Generator, Iterable

from soak.seed import aws_view
from soak.state import Opp
from soak.world import World

Script = Generator[dt.timedelta, None, None]
H = dt.timedelta(hours=1)
DWELL = 6 * H  # Partner Central record changes: a reader sees each state within minutes, or after an outage
AWS_DWELL = 12 * H  # AWS-side changes: found by the sweep (period 1 h, spread ±50 %, slower when the budget binds)
FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


def hours(rng: random.Random, low: float, high: float) -> dt.timedelta:
    return dt.timedelta(hours=rng.uniform(low, high))


class Streams:
    """The scripts in flight, ordered by their next step; new scripts arrive as Poisson processes."""

    def __init__(self, world: World, rng: random.Random):
        self.world, self.rng = world, rng
        self.heap: list[tuple[dt.datetime, int, Script]] = []
        self.seq = itertools.count()

    def start(self, script: Script | None, at: dt.datetime) -> None:
        if script is not None:
            heapq.heappush(self.heap, (at, next(self.seq), script))

    def steps_before(self, until: dt.datetime) -> Iterable[dt.datetime]:
        """Run every step due before `until`, in time order; yields each step's instant first (to set the clock)."""
        while self.heap and self.heap[0][0] < until:
            at, _seq, script = heapq.heappop(self.heap)
            yield at
            try:
                delay = next(script)
            except StopIteration:
                continue
            heapq.heappush(self.heap, (at + delay, next(self.seq), script))

    @property
    def active(self) -> int:
        return len(self.heap)

    def arrivals(self, rates: dict[str, float], gap: dt.timedelta, count: float) -> list[str]:
        """Which scripts start in this gap: per-day rates × portfolio size, drawn as Poisson counts."""
        started = []
        for name, per_opp_per_day in rates.items():
            mean = per_opp_per_day * count * gap / dt.timedelta(days=1)
            started.extend([name] * _poisson(self.rng, mean))
        self.rng.shuffle(started)
        return started


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def pick(world: World, aspects: tuple[str, ...], need: Callable[[Opp], bool], tries: int = 60) -> Opp | None:
    """A random opportunity whose aspects are free and that fits `need`; reserved for the caller."""
    now = world.clock.now()
    opps = world.opp_list
    for _ in range(tries):
        opp = world.rng.choice(opps)
        if all(opp.busy.get(a, now) <= now for a in aspects) and need(opp):
            for a in aspects:
                opp.busy[a] = FAR
            return opp
    return None


def held(world: World, opp: Opp, aspects: tuple[str, ...], dwell: dt.timedelta, body: Script) -> Script:
    """Run `body`, then keep the aspects for `dwell` more."""
    yield from body
    free = world.clock.now() + dwell
    for a in aspects:
        opp.busy[a] = free


# --- review flows (Partner Central record: LastModifiedDate moves) ------------------------------------------------

def _stamp(world: World, opp: Opp) -> dt.datetime | None:
    """Most steps carry the service's own time; some are skewed or tie with the newest time already listed.

    A record's own LastModifiedDate never goes back: AWS moves it forward on every change, and a poller can only
    tell a change from a repeat by it.
    """
    roll, now = world.rng.random(), world.clock.now()
    if roll < 0.08:
        stamp = now - dt.timedelta(minutes=world.rng.uniform(1, 10))  # AWS's clock behind: within the lookback
    elif roll < 0.12:
        stamp = now + dt.timedelta(minutes=world.rng.uniform(0.5, 3))  # AWS's clock ahead
    elif roll < 0.17 and world.high_water is not None:
        stamp = world.high_water  # the same LastModifiedDate as the newest record the last cycle listed
    else:
        return None
    return stamp if opp.modified is None or stamp > opp.modified else None


def review_flow(world: World, opp: Opp) -> Script:
    """Submitted → In review → (Action Required → Submitted → In review)* → Approved | Rejected."""
    rng = world.rng
    if opp.review == "Submitted":
        yield hours(rng, 6, 24)
        world.set_review(opp, "In review", modified=_stamp(world, opp))
    elif opp.review == "Action Required":
        yield hours(rng, 6, 30)
        world.set_review(opp, "Submitted", modified=_stamp(world, opp))
        yield hours(rng, 6, 24)
        world.set_review(opp, "In review", modified=_stamp(world, opp))
    for _round in range(2):
        if rng.random() > 0.4:
            break
        yield hours(rng, 12, 36)
        world.set_review(opp, "Action Required", modified=_stamp(world, opp))
        yield hours(rng, 6, 24)
        world.set_review(opp, "Submitted", modified=_stamp(world, opp))
        yield hours(rng, 6, 24)
        world.set_review(opp, "In review", modified=_stamp(world, opp))
    yield hours(rng, 12, 48)
    world.set_review(opp, "Approved" if rng.random() < 0.8 else "Rejected", modified=_stamp(world, opp))


def new_submission(world: World) -> Script:
    """A deal created in the CRM and submitted to AWS between two cycles: first seen at Submitted."""
    opp = world.new_opportunity(review="Submitted", aws=aws_view(world, score=None, team=0, stage="Prospect",
                                                                resources=False))
    world.hold(opp, ("review", "score", "team", "resources", "aws", "conflict"))
    yield from held(world, opp, ("review", "score", "team", "resources", "aws", "conflict"), DWELL,
                    review_flow(world, opp))


def new_draft(world: World) -> Script:
    """Created at Pending Submission (no AWS view), submitted a day or two later, then reviewed."""
    rng = world.rng
    aspects = ("review", "score", "team", "resources", "aws", "conflict")
    opp = world.new_opportunity(review="Pending Submission", aws=None)
    world.hold(opp, aspects)
    yield hours(rng, 20, 48)
    world.submit(opp, aws_view(world, score=None, team=0, stage="Prospect", resources=False))
    yield from held(world, opp, aspects, DWELL, review_flow(world, opp))


def existing_review(world: World) -> Script | None:
    opp = pick(world, ("review",), lambda o: o.review in ("Submitted", "In review", "Action Required")
               and o.stage not in ("Launched", "Closed Lost"))
    return None if opp is None else held(world, opp, ("review",), DWELL, review_flow(world, opp))


def submit_draft(world: World) -> Script | None:
    aspects = ("review", "score", "team", "resources", "aws", "conflict")
    opp = pick(world, aspects, lambda o: o.review == "Pending Submission" and o.aws is None)
    if opp is None:
        return None

    def body() -> Script:
        world.submit(opp, aws_view(world, score=None, team=0, stage="Prospect", resources=False))
        yield from review_flow(world, opp)
    return held(world, opp, aspects, DWELL, body())


def review_glitch(world: World) -> Script | None:
    """ReviewStatus missing from the record for an hour or two (LastModifiedDate moves both ways): not news."""
    opp = pick(world, ("review",), lambda o: o.review in ("Approved", "Action Required", "Submitted", "Rejected"))
    if opp is None:
        return None

    def body() -> Script:
        status = opp.review
        world.set_review(opp, None)
        yield hours(world.rng, 1, 3)
        world.set_review(opp, status)
    return held(world, opp, ("review",), DWELL, body())


def tie(world: World) -> Script | None:
    """130 records modified at one instant, more than a page: the cursor lands inside the tie. One of them is a
    real transition (In review → Approved)."""
    now = world.clock.now()
    aspects = ("review", "conflict", "record")
    quiet = [o for o in world.opp_list if o.review is not None and (o.modified is None or o.modified < now)
             and all(o.busy.get(a, now) <= now for a in aspects)]
    if len(quiet) < 10:
        return None
    chosen = world.rng.sample(quiet, min(130, len(quiet)))
    for opp in chosen:
        world.hold(opp, aspects)

    def body() -> Script:
        moving = next((o for o in chosen if o.review == "In review"), None)
        for opp in chosen:
            if opp is moving:
                world.set_review(opp, "Approved", modified=now)
            else:
                world.edit_pc(opp, next_steps=f"Partner: pipeline review {now:%Y-%m-%d}", modified=now)
        free = world.clock.now() + DWELL
        for opp in chosen:
            for aspect in aspects:
                opp.busy[aspect] = free
        return
        yield  # pragma: no cover - one step
    return body()


def late_arrival(world: World) -> Script | None:
    """A change stamped before the newest record the last cycle listed (a lagging replica): the lookback exists for
    exactly this. One record changes now; in the next gap another's review moves, stamped minutes before it."""
    aspects = ("review", "conflict", "record")
    now = world.clock.now()
    first = pick(world, aspects, lambda o: o.review is not None and (o.modified is None or o.modified < now))
    second = pick(world, aspects, lambda o: o.review == "In review" and (o.modified is None or
                                                                       o.modified < now - dt.timedelta(minutes=15)))
    if first is None or second is None:
        for opp in filter(None, (first, second)):
            for aspect in aspects:
                opp.busy[aspect] = now
        return None

    def body() -> Script:
        world.edit_pc(first, next_steps=f"Partner: stakeholder map updated ({world.rng.randint(1, 9999)})")
        yield dt.timedelta(minutes=6)  # the next cycle has listed it: the cursor is at its LastModifiedDate
        assert first.modified is not None
        stamp = first.modified - dt.timedelta(minutes=world.rng.uniform(0.5, 10))
        if second.modified is None or stamp > second.modified:
            world.set_review(second, world.rng.choice(["Approved", "Action Required"]), modified=stamp)
        free = world.clock.now() + DWELL
        for opp in (first, second):
            for aspect in aspects:
                opp.busy[aspect] = free
    return body()
