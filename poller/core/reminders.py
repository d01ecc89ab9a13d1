"""Which reminders are due at `now`: invitations about to expire, opportunities left at Action Required."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from poller.core.events import make_event
from poller.core.model import Event, Invitation, Snapshot
from poller.core.notes.wording import when
from poller.core.review import canonical_review_status
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso, parse_iso

ACTION_REQUIRED = "actionrequired"
# Each is exactly once: its key is (kind, subject, threshold or period index, the fact it counts from), so every
# cycle that finds it due derives the same key and the outbox takes it once. Only the reminder due now is raised:
# one missed during an outage is not sent late, the current one is.


def _moment(text: str | None) -> dt.datetime | None:
    try:
        return parse_iso(text) if text else None
    except ValueError:
        return None  # an unreadable date reminds of nothing


def _hours(delta: dt.timedelta) -> str:
    hours = max(int(delta.total_seconds() // 3600), 0)
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"


def reminder_opens(invitation: Invitation, rules: RuleConfig) -> dt.datetime | None:
    """When an invitation's expiry reminder is due: `invitation_reminder_hours` before its ExpirationDate."""
    expires = _moment(invitation.expiration_date)
    return None if expires is None else expires - dt.timedelta(hours=rules.invitation_reminder_hours)


def invitation_reminders(invitations: Iterable[tuple[Invitation, str]], now: dt.datetime, *,
                         rules: RuleConfig) -> list[Event]:
    """A reminder per PENDING invitation (with when this job first saw it) whose reminder time has come.

    Not for one first seen inside its reminder window: its new-referral task already said that it expires soon.
    Not once it expired or is no longer PENDING (accepted, declined).
    """
    if "invitation_expiring" in rules.muted_kinds:
        return []
    due = []
    for invitation, first_seen in invitations:
        opens, seen = reminder_opens(invitation, rules), _moment(first_seen)
        expires = _moment(invitation.expiration_date)
        if (invitation.status.strip().upper() != "PENDING" or opens is None or expires is None or seen is None
                or not opens <= now < expires or seen >= opens):
            continue
        due.append(make_event(
            "invitation_expiring", invitation.invitation_id, value=f"{rules.invitation_reminder_hours:g}h",
            version=invitation.expiration_date or "", occurred_at=iso(opens), rules=rules,
            facts=(("expires", when(invitation.expiration_date)), ("left", _hours(expires - now)))))
    return due


def escalation_start(snapshot: Snapshot, rules: RuleConfig) -> dt.datetime | None:
    """When an opportunity at Action Required is first escalated (None: not at Action Required)."""
    since = _moment(snapshot.review_since)
    if since is None or canonical_review_status(snapshot.review_status) != ACTION_REQUIRED:
        return None
    return since + dt.timedelta(hours=rules.action_required_after_hours)


def escalations(snapshots: Iterable[Snapshot], now: dt.datetime, *, rules: RuleConfig) -> list[Event]:
    """One escalation per opportunity still at Action Required `action_required_after_hours` after this job
    recorded it there, then one per `action_required_every_hours` while it stays (the period's index keys it)."""
    if "action_required_overdue" in rules.muted_kinds:
        return []
    every = dt.timedelta(hours=rules.action_required_every_hours)
    due = []
    for snapshot in snapshots:
        first = escalation_start(snapshot, rules)
        if first is None or now < first:
            continue
        index = int((now - first) / every)
        since = _moment(snapshot.review_since)
        assert since is not None  # escalation_start read it
        due.append(make_event(
            "action_required_overdue", snapshot.opportunity_id, value=index, version=snapshot.review_since or "",
            occurred_at=iso(first + index * every), rules=rules, deal_id=snapshot.deal_id,
            facts=(("since", when(snapshot.review_since)), ("waiting", _hours(now - since)),
                   ("review_comments", snapshot.review_comments),
                   ("review_status_reason", snapshot.review_status_reason))))
    return due


def next_escalation(snapshot: Snapshot, now: dt.datetime, rules: RuleConfig) -> dt.datetime | None:
    """When the next escalation of an opportunity at Action Required is due (the first, or the one after now's)."""
    first = escalation_start(snapshot, rules)
    if first is None or now < first:
        return first
    every = dt.timedelta(hours=rules.action_required_every_hours)
    return first + (int((now - first) / every) + 1) * every


def next_invitation_reminder(invitation: Invitation, first_seen: str, now: dt.datetime,
                             rules: RuleConfig) -> dt.datetime | None:
    """When a PENDING invitation's reminder is due, if one will be (not for one first seen inside its window)."""
    opens, seen = reminder_opens(invitation, rules), _moment(first_seen)
    if opens is None or seen is None or seen >= opens or now >= opens:
        return None
    return opens
