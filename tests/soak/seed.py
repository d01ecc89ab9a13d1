"""The starting portfolio: opportunities in every review state and stage, AWS views, deals, owners, invitations."""

from __future__ import annotations

import datetime as dt

from poller.simulators import portfolio
from soak.state import (
    AWS_STAGES,
    CATEGORIES,
    FIRST,
    LAST,
    NBA,
    PRODUCTS,
    TITLES,
    AwsState,
    Member,
)
from soak.world import World

# Review status by position in each block of 20, as a partner's pipeline looks: mostly approved, some with AWS.
REVIEW_PATTERN = {2: "In review", 9: "In review", 16: "In review", 5: "Action Required", 12: "Submitted",
                  18: "Rejected", 11: "Pending Submission"}  # a draft: no AWS view yet
CLOSED_PATTERN = {7: "Launched", 14: "Closed Lost"}
STAGES = ["Prospect", "Qualified", "Technical Validation", "Business Validation", "Committed"]
SCORES = ["Medium", "High", "Low", "Medium", None]


def member(world: World, taken: set[str], *, title: str | None = None, email: bool = True) -> Member:
    """A new AWS team member, never one already on this team (a person has one identity)."""
    rng = world.rng
    while True:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if f"{first} {last}" not in taken:
            break
    found = Member(first=first, last=last, title=title or rng.choice(TITLES))
    if email:
        found.email = f"{first.lower()}.{last.lower()}@amazon.com"
    return found


def aws_view(world: World, *, score: str | None, team: int, stage: str, resources: bool = True) -> AwsState:
    rng = world.rng
    view = AwsState(stage=stage, score=score)
    taken: set[str] = set()
    for _ in range(team):
        view.team.append(member(world, taken))
        taken.add(view.team[-1].identity)
    if resources:
        view.products = {rng.choice(PRODUCTS)}
        view.solutions = {"S-0000001"}
        view.categories = {CATEGORIES[1]}
        view.nba = rng.choice(NBA)
    return view


def seed_world(world: World, count: int, *, closed_share: float = 0.0, invitations: int = 3) -> None:
    """`count` opportunities modified over the last four months, their deals and owners, and a few invitations.

    About one in seven is closed or rejected; `closed_share` closes that share more (Launched or Closed Lost), as in
    a pipeline that has run for years: they are listed when they change but never swept.
    """
    hub, rng, now = world.hub, world.rng, world.clock.now()
    for owner_id, email, first, last in [*portfolio.OWNERS, portfolio.FORMER_OWNER, portfolio.FALLBACK_OWNER]:
        hub.add_owner(owner_id, email, first, last)
    for n in range(count):
        review = REVIEW_PATTERN.get(n % 20, "Approved")
        stage = CLOSED_PATTERN.get(n % 20) or ("Qualified" if review != "Approved" else STAGES[n % 5])
        if review == "Approved" and rng.random() < closed_share:
            stage = rng.choice(list(CLOSED_PATTERN.values()))
        aws = None if review == "Pending Submission" else aws_view(world, score=SCORES[n % len(SCORES)], team=1 + n % 2,
                                                   stage=AWS_STAGES[n % len(AWS_STAGES)])
        modified = now - dt.timedelta(minutes=rng.randint(60, 120 * 24 * 60))
        world.new_opportunity(review=review, aws=aws, stage=stage, modified=modified,
                              created=modified - dt.timedelta(days=rng.randint(5, 90)))
    for i in range(invitations):  # PENDING ones notify on the baseline too; an ACCEPTED one is history
        world.invite(900_000 + i, sender="AWS", expires_in=dt.timedelta(days=rng.randint(3, 12)),
                     title=f"Seeded referral {i}")
    old = world.invite(900_100, sender="AWS", expires_in=dt.timedelta(days=9), title="Seeded accepted referral",
                       announce=False)
    world.set_invitation(old, "ACCEPTED")
