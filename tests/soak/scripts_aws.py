"""Change streams on AWS's side (no LastModifiedDate move), on the deal's side, and for invitations."""

from __future__ import annotations

import datetime as dt

from soak.scripts import AWS_DWELL, DWELL, Script, held, hours, pick
from soak.seed import aws_view, member
from soak.state import AWS_STAGES, CATEGORIES, NBA, PRODUCTS, SELLER_OWNERS, Opp
from soak.world import World

TIERS = ("Low", "Medium", "High")


def _aws_open(opp: Opp) -> bool:
    return opp.aws is not None and opp.open


def _one_step(world: World, aspects: tuple[str, ...], change, need=_aws_open,  # noqa: ANN001
              dwell: dt.timedelta = AWS_DWELL) -> Script | None:
    opp = pick(world, aspects, need)
    if opp is None:
        return None

    def body() -> Script:
        change(opp)
        return
        yield  # pragma: no cover - a generator with one step
    return held(world, opp, aspects, dwell, body())


def score_change(world: World) -> Script | None:
    def change(opp: Opp) -> None:
        opp.aws.score = world.rng.choice([t for t in TIERS if t != opp.aws.score])
        world.push_aws(opp)
    return _one_step(world, ("score",), change)


def score_flap(world: World) -> Script | None:
    """The tier is missing from a read or two, then back as it was: unknown is not a change."""
    opp = pick(world, ("score",), lambda o: _aws_open(o) and o.aws.score is not None)
    if opp is None:
        return None

    def body() -> Script:
        tier, opp.aws.score = opp.aws.score, None
        world.push_aws(opp)
        yield hours(world.rng, 1.5, 3)
        opp.aws.score = tier
        world.push_aws(opp)
    return held(world, opp, ("score",), AWS_DWELL, body())


def seller_assigned(world: World) -> Script | None:
    """AWS assigns someone by name; their email is filled in a day or so later (the same person)."""
    opp = pick(world, ("team",), _aws_open)
    if opp is None:
        return None

    def body() -> Script:
        person = member(world, {m.identity for m in opp.aws.team}, email=False,
                        title=world.rng.choice(["AWSSalesRep", "AWSAccountOwner", "PDM", "PSM"]))
        opp.aws.team.append(person)
        world.push_aws(opp)
        yield hours(world.rng, 12, 72)
        person.email = f"{person.first.lower()}.{person.last.lower()}@amazon.com"
        world.push_aws(opp)
    return held(world, opp, ("team",), AWS_DWELL, body())


def resources(world: World) -> Script | None:
    def change(opp: Opp) -> None:
        aws, rng = opp.aws, world.rng
        roll = rng.random()
        if roll < 0.3 and set(PRODUCTS) - aws.products:
            aws.products.add(rng.choice(sorted(set(PRODUCTS) - aws.products)))
        elif roll < 0.5:
            aws.solutions.add(f"S-{rng.randint(2, 9999999):07d}")
        elif roll < 0.7 and set(CATEGORIES) - aws.categories:
            aws.categories.add(rng.choice(sorted(set(CATEGORIES) - aws.categories)))
        else:
            aws.nba = rng.choice([a for a in NBA if a != aws.nba])
        world.push_aws(opp)
    return _one_step(world, ("resources",), change)


def resources_flap(world: World) -> Script | None:
    """Next best actions or the program categories missing for a read or two, then back unchanged."""
    opp = pick(world, ("resources",), lambda o: _aws_open(o) and o.aws.nba is not None and bool(o.aws.categories))
    if opp is None:
        return None

    def body() -> Script:
        aws = opp.aws
        if world.rng.random() < 0.5:
            actions, aws.nba = aws.nba, None
            world.push_aws(opp)
            yield hours(world.rng, 1.5, 3)
            aws.nba = actions
        else:
            aws.categories_missing = True
            world.push_aws(opp)
            yield hours(world.rng, 1.5, 3)
            aws.categories_missing = False
        world.push_aws(opp)
    return held(world, opp, ("resources",), AWS_DWELL, body())


def aws_update(world: World) -> Script | None:
    """AWS moves its stage, next steps, involvement type or visibility."""
    def change(opp: Opp) -> None:
        aws, rng = opp.aws, world.rng
        roll = rng.random()
        if roll < 0.4:
            aws.stage = rng.choice([s for s in AWS_STAGES if s != aws.stage])
        elif roll < 0.8:
            aws.next_steps = f"AWS: {rng.choice(NBA)} (#{rng.randint(1, 99999)})"
        elif roll < 0.9:
            aws.involvement = "For Visibility Only" if aws.involvement == "Co-Sell" else "Co-Sell"
        else:
            aws.visibility = "Limited" if aws.visibility == "Full" else "Full"
        world.push_aws(opp)
    return _one_step(world, ("aws",), change)


# --- the deal's side ------------------------------------------------------------------------------------------------

def partner_edit(world: World) -> Script | None:
    """Edits that must not notify: a synced rename, a partner-only edit, a deal edit later matched in Partner Central."""
    opp = pick(world, ("conflict", "review"), lambda o: o.open)
    if opp is None:
        return None

    def body() -> Script:
        rng = world.rng
        roll = rng.random()
        if roll < 0.35:
            title = f"{opp.title.split(' #')[0]} phase {rng.randint(2, 9)} #{opp.n}"
            world.edit_pc(opp, title=title)
            world.edit_deal(opp, dealname=title)
        elif roll < 0.65:
            world.edit_pc(opp, next_steps=f"Partner: follow-up call booked ({rng.randint(1, 9999)})")
        else:
            amount = str(int(opp.amount) + rng.choice([500, 1000, 2500]))
            world.edit_deal(opp, amount=amount)
            yield hours(rng, 2, 12)
            world.edit_pc(opp, amount=amount)
    return held(world, opp, ("conflict", "review"), DWELL, body())


def conflict(world: World) -> Script | None:
    """Both sides edit one mapped field differently; sometimes AWS moves its own close date while the conflict is
    open (still an AWS-side update); the seller settles it on the deal within a day."""
    aspects = ("conflict", "review", "aws")
    opp = pick(world, aspects, _aws_open)
    if opp is None:
        return None

    def body() -> Script:
        rng = world.rng
        field = rng.choice(["close", "amount", "title"])
        if field == "close":
            base = dt.date.fromisoformat(opp.close)
            ours, theirs = (base + dt.timedelta(days=14)).isoformat(), (base + dt.timedelta(days=30)).isoformat()
            world.edit_pc(opp, close=ours)
            world.edit_deal(opp, close=theirs)
            if rng.random() < 0.6:
                yield hours(rng, 1, 4)
                opp.aws.target_close = (base + dt.timedelta(days=45)).isoformat()
                world.push_aws(opp)
            yield hours(rng, 4, 16)
            world.edit_deal(opp, close=ours)
        elif field == "amount":
            world.edit_pc(opp, amount=str(int(opp.amount) + 1000))
            world.edit_deal(opp, amount=str(int(opp.amount) + 3000))
            yield hours(rng, 4, 16)
            world.edit_deal(opp, amount=opp.amount)
        else:
            world.edit_pc(opp, title=f"{opp.title} (expanded)")
            world.edit_deal(opp, dealname=f"{opp.deal[0]} - renewal")
            yield hours(rng, 4, 16)
            world.edit_deal(opp, dealname=opp.title)
    return held(world, opp, aspects, AWS_DWELL, body())


def reassign(world: World) -> Script | None:
    def change(opp: Opp) -> None:
        world.reassign(opp, world.rng.choice([o for o in SELLER_OWNERS if o != world.owners[opp.deal_id][-1][1]]))
    return _one_step(world, ("owner",), change, need=lambda o: True, dwell=DWELL)


# --- invitations ----------------------------------------------------------------------------------------------------

def invitation(world: World, sender: str = "AWS") -> Script:
    """Arrives PENDING; accepted within days (an AWS one becomes an opportunity) or left to expire."""
    rng = world.rng
    n = world.next_invitation()
    roll = rng.random()
    expires_in = hours(rng, 6, 20) if roll < 0.1 else dt.timedelta(days=rng.uniform(3, 10))
    title = f"{rng.choice(['GenAI assistant', 'Data lake', 'SAP migration'])} for {sender} lead {n}"
    iid = world.invite(n, sender=sender, expires_in=expires_in, title=title)
    accept_after = hours(rng, 12, 96)
    if rng.random() < 0.6 and accept_after < expires_in:
        yield accept_after
        world.set_invitation(iid, "ACCEPTED")
        if sender == "AWS":
            yield hours(rng, 0.5, 6)
            referral_opportunity(world, title, notified=True)
    else:
        yield expires_in
        world.set_invitation(iid, "EXPIRED")


def quick_referral(world: World) -> Script:
    """An AWS referral accepted by a colleague before any cycle saw it: its opportunity is the first news."""
    n = world.next_invitation()
    title = f"Fast-tracked referral {n}"
    iid = world.invite(n, sender="AWS", expires_in=dt.timedelta(days=15), title=title, announce=False)
    world.set_invitation(iid, "ACCEPTED")
    yield dt.timedelta(minutes=1)
    referral_opportunity(world, title, notified=False)


def referral_opportunity(world: World, title: str, *, notified: bool) -> Opp:
    view = aws_view(world, score="Medium", team=1, stage="Qualify")
    view.origin = "AWS Referral"
    opp = world.new_opportunity(review="Approved", aws=view, title=title, referral=True,
                                invitation_notified=notified)
    free = world.clock.now() + AWS_DWELL
    for aspect in ("review", "score", "team", "resources", "aws", "conflict"):
        opp.busy[aspect] = free
    return opp

