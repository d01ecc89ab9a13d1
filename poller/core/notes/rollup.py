"""render_rollup(key, facts, now) → a manager's daily task: the team's notifications by kind, overdue, undelivered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from poller.core.hours import local_moment, parse_clock
from poller.core.model import Notification, stable_hash
from poller.core.notes.render import _e, _list, plain_subject
from poller.core.notes.wording import clip, when
from poller.core.timefmt import iso

EMOJI = "📊"
KIND = "manager_rollup"  # the kind of a roll-up's own event and outbox row
DUE_HOURS = 8  # the same working day
LISTED = 25  # items per section; the count says how many there are


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupFacts:
    """What a manager's team received in one day and what still needs doing; texts are plain, not escaped yet."""

    manager_id: str
    team: str
    day: str  # YYYY-MM-DD in the manager's time zone
    since: str  # ISO UTC: the period covered
    by_kind: tuple[tuple[str, int], ...] = ()  # the team's notifications in the period, by kind
    outcomes: tuple[tuple[str, int], ...] = ()  # how they went: delivered, in a digest, suppressed, waiting…
    action_required: tuple[tuple[str, str], ...] = ()  # (opportunity id, "title — owner, since …") still open
    expiring: tuple[tuple[str, str], ...] = ()  # (invitation id, "title, expires …") still pending
    failed: tuple[tuple[str, str], ...] = ()  # (event key, "kind subject: reason") failed or parked


def _section(title: str, items: tuple[tuple[str, str], ...]) -> str:
    if not items:
        return f"<p><strong>{_e(title)}</strong>: none</p>"
    lines = [f"{name}: {clip(text, 300)}" for name, text in items[:LISTED]]
    more = f"<p>… and {len(items) - LISTED} more</p>" if len(items) > LISTED else ""
    return f"<p><strong>{_e(title)} ({len(items)})</strong></p>" + _list(lines) + more


def render_rollup(key: str, facts: RollupFacts, now: dt.datetime) -> Notification:
    """One task for the manager (no deal, so no note): the whole summary is in its body."""
    total = sum(n for _kind, n in facts.by_kind)
    attention = len(facts.action_required) + len(facts.expiring)
    counts = _list([f"{kind}: {n}" for kind, n in facts.by_kind]) or "<p>No notifications.</p>"
    outcomes = ", ".join(f"{what} {n}" for what, n in facts.outcomes)
    body = (f"<h3>{_e(EMOJI)} Team {_e(facts.team)}: daily roll-up for {_e(facts.day)}</h3>"
            f"<p>{total} notifications to the team since {_e(when(facts.since) or facts.since)}"
            + (f" ({_e(outcomes)})" if outcomes else "") + ".</p>" + counts
            + _section("Action Required, still open", facts.action_required)
            + _section("Invitations expiring within 3 days", facts.expiring)
            + _section("Failed to deliver or parked", facts.failed)
            + f"<p>Ref: {_e(key)}</p>")
    return Notification(
        event_key=key, kind=KIND, subject_id=facts.manager_id, deal_id=None,
        priority="MEDIUM" if attention or facts.failed else "LOW",
        due_at=iso(now + dt.timedelta(hours=DUE_HOURS)),
        subject=plain_subject(f"{EMOJI} Team {facts.team} {facts.day}: {total} notifications, {attention} overdue, "
                              f"{len(facts.failed)} undelivered"),
        task_body=body, note_body=None)


def rollup_key(manager_id: str, day: str) -> str:
    """One roll-up per manager per day, whoever makes it and however often: the key is (manager, day)."""
    return "evk_" + stable_hash([KIND, manager_id, day])[:24]


def rollup_day(rollup_at: str, time_zone: str, now: dt.datetime) -> tuple[str, dt.datetime, dt.datetime] | None:
    """(the manager's local day, the period it covers) once that day's roll-up time has passed, else None. The
    period runs from the last roll-up time to this one, so consecutive roll-ups cover every moment once."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    at = parse_clock(rollup_at)
    until = local_moment(today, at, zone)
    if now < until:
        return None
    return today.isoformat(), local_moment(today - dt.timedelta(days=1), at, zone), until
