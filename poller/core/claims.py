"""Claims: what a library call (the seed's notify_*) says changed on one opportunity, as the event it would be."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from poller.core.events import make_event
from poller.core.model import KINDS, Change, Event, Person
from poller.core.notes.describe import describe_person
from poller.core.review import canonical_review_status, review_kind
from poller.core.rules import RuleConfig
from poller.core.score import score_change
from poller.core.timefmt import iso

# A claim and a cycle's event of the same kind on the same opportunity are one change when they are this close:
# the caller saw it before Partner Central showed it (or the poll saw it first, and the caller calls late).
CLAIM_WINDOW = dt.timedelta(hours=24)
NOT_GIVEN = "(not given)"  # the old value of a field the caller named without saying what it was before


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One library call, as it was made: the event kind it claims, the ids, and its own arguments (JSON values)."""

    kind: str
    call: str  # the seed's method, e.g. notify_review_status_change
    opportunity_id: str
    deal_id: str | None = None
    deal_name: str | None = None
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if not isinstance(self.opportunity_id, str) or not self.opportunity_id.strip():
            raise ValueError(f"opportunity_id must be a non-empty string, got {self.opportunity_id!r}")

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "call": self.call, "opportunity_id": self.opportunity_id,
                           "deal_id": self.deal_id, "deal_name": self.deal_name, "args": self.args},
                          default=str, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Claim:
        data = json.loads(text)
        return cls(kind=data["kind"], call=data["call"], opportunity_id=data["opportunity_id"],
                   deal_id=data.get("deal_id"), deal_name=data.get("deal_name"), args=data.get("args") or {})


@dataclass(frozen=True, slots=True)
class NotNotified:
    """Poller's rules give the claim no notification (a small score move, a status that notifies nobody, muted)."""

    reason: str


def _text(value: Any) -> str | None:
    text = None if value is None else str(value).strip()
    return text or None


def _field(name: str) -> str:
    """`Stage`, `NextSteps`, `next steps` → the snapshot field names the notes have labels for."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip())
    return re.sub(r"[\s\-]+", "_", snake).casefold()


def _person(name: str | None, email: str | None) -> Person:
    first, _, last = (name or "").strip().partition(" ")
    return Person(email=_text(email), first_name=_text(first), last_name=_text(last))


def _updated(args: dict[str, Any]) -> tuple[object, tuple[Change, ...], tuple[tuple[str, str | None], ...]]:
    changes = tuple(Change(field=_field(k), old=NOT_GIVEN, new=_text(v)) for k, v in (args.get("changes") or {}).items())
    return sorted((c.field, c.new or "") for c in changes), changes, ()


def _resources(args: dict[str, Any]) -> tuple[object, tuple[Change, ...], tuple[tuple[str, str | None], ...]]:
    types = sorted(t for t in (_text(t) for t in args.get("resource_types") or ()) if t)
    count = args.get("resource_count")
    listed = ", ".join(types) or (f"{count} new resources" if count else "new resources")
    return [count, types], (Change(field="resources", new=listed),), ()


def _conflicts(args: dict[str, Any]) -> tuple[object, tuple[Change, ...], tuple[tuple[str, str | None], ...]]:
    # Each reported conflict is listed as it was worded: a change with no values is shown by its label alone.
    reported = sorted(t for t in (_text(c) for c in args.get("conflicts") or ()) if t) or ["a sync conflict"]
    return reported, tuple(Change(field=c) for c in reported), ()


def claim_event(claim: Claim, *, version: str, now: dt.datetime, rules: RuleConfig,
                deal_id: str | None = None) -> Event | NotNotified:
    """The event the claim is, keyed on (kind, opportunity, the claim's own value, `version`), or why there is none.

    Priority and due time follow the same rules as the poll's (a score move under the threshold notifies nobody,
    nor does a review status other than Submitted, Approved, Action Required or Rejected).
    """
    args, kind = claim.args, claim.kind
    priority: str | None = None
    facts: tuple[tuple[str, str | None], ...] = ()
    changes: tuple[Change, ...] = ()
    value: object
    if kind == "new_opportunity":
        value, facts = claim.opportunity_id, (("invitation_sender", _text(args.get("invitation_sender"))),)
    elif kind == "opportunity_updated":
        value, changes, facts = _updated(args)
    elif kind == "engagement_score_changed":
        old, new = _text(args.get("old_score")), _text(args.get("new_score"))
        move = score_change(old, new, rules)
        if move is None:
            return NotNotified(f"engagement score {old} → {new} is under the threshold "
                               f"(score_change_threshold {rules.score_change_threshold:g})")
        priority, direction = move
        value, facts = new, (("direction", direction),)
        changes = (Change(field="engagement_score", old=old, new=new),)
    elif kind in ("review_approved", "review_action_required", "review_rejected", "submission_confirmed"):
        status = _text(args.get("new_status")) or "Submitted"  # notify_submission_confirmed names no status
        if review_kind(status) != kind:
            return NotNotified(f"review status {status!r} is not {kind}")
        value = canonical_review_status(status)
        if kind == "submission_confirmed":
            facts = (("involvement_type", _text(args.get("involvement_type"))),)
        else:
            changes = (Change(field="review_status", old=_text(args.get("old_status")), new=status),)
            if kind in ("review_action_required", "review_rejected"):
                facts = (("review_comments", _text(args.get("feedback"))),)
    elif kind == "aws_seller_assigned":
        person = _person(_text(args.get("seller_name")), _text(args.get("seller_email")))
        value = [person.key]
        changes = (Change(field="aws_team_member", new=describe_person(person)),)
        facts = (("new_members", person.display_name),)
    elif kind == "resources_available":
        value, changes, facts = _resources(args)
    else:  # conflict_detected
        value, changes, facts = _conflicts(args)
    if kind in rules.muted_kinds:
        return NotNotified(f"{kind} is muted (muted_kinds)")
    return make_event(kind, claim.opportunity_id, value=value, version=version, occurred_at=iso(now), rules=rules,
                      priority=priority, changes=changes, facts=facts, deal_id=deal_id)
