"""Ground truth: which transitions should notify, from the world's side, by the rules as DESIGN §3/§4/§10 and issue 7
state them. Nothing here imports poller: the expectations must never come from the code under test.

The world calls `observe()` after every change it makes to an opportunity, with the whole state a reader would
see now. The world keeps each state long enough for a correct poller to read it (see world.DWELL), so the states
the world passes here are the states the poller reads, and comparing consecutive ones is the level-triggered
design's own definition of a transition.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# DESIGN §3: review status → (kind, priority, due hours); other statuses (In review, Pending Submission) notify nobody.
REVIEW = {"submitted": ("submission_confirmed", "MEDIUM", 72), "approved": ("review_approved", "HIGH", 24),
          "actionrequired": ("review_action_required", "HIGH", 48), "rejected": ("review_rejected", "MEDIUM", 72)}
TIERS = {"low": 0, "medium": 1, "high": 2}
SELLERS = {"awssalesrep", "awsaccountowner"}  # DESIGN §3: these make aws_seller_assigned HIGH; other roles MEDIUM
FIXED = {"opportunity_updated": ("MEDIUM", 72), "resources_available": ("LOW", 168),
         "conflict_detected": ("HIGH", 12), "new_opportunity": ("HIGH", 24)}
CONFLICT_FIELDS = ("title", "spend", "close")


def canonical(status: str | None) -> str | None:
    """ReviewStatus compared case- and punctuation-insensitively (DESIGN §3)."""
    squashed = "".join(c for c in (status or "").casefold() if c.isalnum())
    return squashed or None


@dataclass(frozen=True, slots=True, kw_only=True)
class AwsFacts:
    """What AWS's summary says, as a reader sees it; None where a value is missing in this read (unknown)."""

    score: str | None = None
    team: frozenset[tuple[str, str]] = frozenset()  # (the person, their title); one person keeps one identity
    products: frozenset[str] = frozenset()
    solutions: frozenset[str] = frozenset()
    categories: frozenset[str] | None = frozenset()  # None: the spend insights were missing from this read
    nba: str | None = None
    plain: tuple[tuple[str, str | None], ...] = ()  # AWS stage, next steps, involvement, visibility, close date, spend


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """One opportunity as a reader sees it: Partner Central record, AWS view, and the linked deal's mapped fields."""

    review: str | None  # the wire value; None when the record lacks it in this read
    aws: AwsFacts | None  # None before submission: no AWS view yet
    pc: tuple[str | None, str | None, str | None]  # title, expected spend (to the cent), target close date
    deal: tuple[str | None, str | None, str | None] | None  # dealname, amount, close date, compared like pc
    referral: bool = False  # Origin AWS Referral
    invitation_notified: bool = True  # for a referral: whether its invitation was announced


@dataclass(frozen=True, slots=True, kw_only=True)
class Expected:
    """A notification the rules call for. `due_hours` None: the design leaves it open, only priority is checked."""

    kind: str
    subject: str  # opportunity or invitation id
    deal_id: str | None
    priority: str
    due_hours: int | None
    at: dt.datetime  # when the transition happened in the world
    due_cap: dt.datetime | None = None  # invitations: due no later than their expiry
    why: str = ""
    # What moved, for kinds whose changes are values (field, old, new): a digest may drop a move that reverted
    # inside its window (A→B→A), and the comparison checks that it really did.
    values: tuple[tuple[str, str | None, str | None], ...] = ()


@dataclass(slots=True)
class Known:
    """What a correct reader knows about one opportunity: last known values (unknown is not a change)."""

    review: str | None = None
    aws_seen: bool = False
    score: str | None = None
    team: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)
    solutions: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    nba: str | None = None
    plain: dict[str, str | None] = field(default_factory=dict)
    reconciled: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    raised: set[str] = field(default_factory=set)  # conflict fields already announced and not resolved since


class Truth:
    def __init__(self) -> None:
        self.known: dict[str, Known] = {}
        self.expected: list[Expected] = []

    def observe(self, subject: str, deal_id: str | None, facts: Facts, at: dt.datetime, *,
                baseline: bool = False) -> list[Expected]:
        """Record what this state should announce compared with the last one; the baseline announces nothing."""
        first = subject not in self.known
        known = self.known.setdefault(subject, Known())
        found: list[Expected] = []

        def add(kind: str, priority: str, due: int | None, why: str,
                values: tuple[tuple[str, str | None, str | None], ...] = ()) -> None:
            found.append(Expected(kind=kind, subject=subject, deal_id=deal_id, priority=priority, due_hours=due,
                                  at=at, why=why, values=values))

        if first and not baseline and facts.referral and not facts.invitation_notified:
            add("new_opportunity", *FIXED["new_opportunity"], "AWS referral first seen, invitation never announced")
        status = canonical(facts.review)
        if status is not None:  # a missing status is unknown, not a change (DESIGN §10)
            if status != known.review and status in REVIEW:
                kind, priority, due = REVIEW[status]
                add(kind, priority, due, f"review {known.review or 'pending submission'} → {status}")
            known.review = status
        if facts.aws is not None:
            self._aws(known, facts.aws, add)
        self._conflicts(known, facts, add)
        if baseline:
            return []
        self.expected.extend(found)
        return found

    def _aws(self, known: Known, aws: AwsFacts, add) -> None:  # noqa: ANN001 - the closure from observe()
        first_view = not known.aws_seen
        known.aws_seen = True
        # Score: a tier that disappears keeps the last known one; a first tier counts as a rise (DESIGN §10).
        if aws.score is not None and aws.score.casefold() != (known.score or "").casefold():
            old = TIERS.get((known.score or "").casefold(), -1)
            new = TIERS[aws.score.casefold()]
            tiers = (("score", known.score, aws.score),)
            if new < old:
                add("engagement_score_changed", "MEDIUM", 72, f"score {known.score} → {aws.score}", tiers)
            elif new == TIERS["high"]:
                add("engagement_score_changed", "HIGH", 24, f"score {known.score} → {aws.score}", tiers)
            else:
                add("engagement_score_changed", "LOW", 168, f"score {known.score} → {aws.score}", tiers)
            known.score = aws.score
        people = {person for person, _title in aws.team}
        added = [(p, t) for p, t in aws.team if p not in known.team]
        if added:
            high = any(t.casefold() in SELLERS for _p, t in added)
            add("aws_seller_assigned", "HIGH" if high else "MEDIUM", 24 if high else None,
                f"AWS team + {', '.join(p for p, _t in sorted(added))}")
        known.team = people
        reasons = []
        for name, now, before in (("products", aws.products, known.products),
                                  ("solutions", aws.solutions, known.solutions),
                                  ("categories", aws.categories, known.categories)):
            if now is None:
                continue  # missing in this read: unknown, keeps the last known list
            if set(now) - before:
                reasons.append(f"{name} + {', '.join(sorted(set(now) - before))}")
            before.clear()
            before.update(now)
        if aws.nba is not None:
            if aws.nba != known.nba:
                reasons.append("next best actions changed")
            known.nba = aws.nba
        if reasons:
            add("resources_available", *FIXED["resources_available"], "; ".join(reasons))
        plain = dict(aws.plain)
        # The first AWS view is a baseline for its plain fields (DESIGN §10); later changes are AWS-side updates,
        # reported whatever a partner-side conflict on the same field says (issue 7).
        moved = sorted(k for k, v in plain.items() if v is not None and known.plain.get(k) != v)
        if moved and not first_view:
            add("opportunity_updated", *FIXED["opportunity_updated"], f"AWS changed {', '.join(moved)}",
                tuple((k, known.plain.get(k), plain[k]) for k in moved))
        known.plain.update({k: v for k, v in plain.items() if v is not None})

    @staticmethod
    def _conflicts(known: Known, facts: Facts, add) -> None:  # noqa: ANN001
        """DESIGN §3: a mapped field changed on both sides since the last reconciled pair, and they now disagree."""
        if facts.deal is None:
            return
        conflicts = []
        for name, pc, deal in zip(CONFLICT_FIELDS, facts.pc, facts.deal, strict=True):
            reconciled = known.reconciled.get(name)
            if reconciled is None or pc == deal:
                known.reconciled[name] = (pc, deal)
                known.raised.discard(name)
            elif pc != reconciled[0] and deal != reconciled[1]:
                conflicts.append(name)
        fresh = [name for name in conflicts if name not in known.raised]
        if fresh:  # the world resolves every conflict within a day, so the 24 h re-raise never comes due
            add("conflict_detected", *FIXED["conflict_detected"], f"both sides changed {', '.join(conflicts)}")
            known.raised.update(conflicts)

    def invitation(self, invitation_id: str, sender: str, at: dt.datetime, expires: dt.datetime) -> Expected:
        """A new PENDING invitation, from AWS or another partner: new_opportunity for the fallback owner."""
        expected = Expected(kind="new_opportunity", subject=invitation_id, deal_id=None, priority="HIGH",
                            due_hours=24, at=at, due_cap=expires, why=f"invitation from {sender}")
        self.expected.append(expected)
        return expected
