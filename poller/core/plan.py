"""plan(events, contexts, now) → notifications: render every event that is not muted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from poller.core.model import Event, Invitation, Notification, Snapshot
from poller.core.notes.render import render
from poller.core.rules import RuleConfig


def plan(
    events: Iterable[Event],
    contexts: Mapping[str, Snapshot | Invitation],
    now: datetime,
    *,
    rules: RuleConfig,
) -> list[Notification]:
    """One notification per event, in order; contexts are keyed by the event's subject id."""
    return [render(event, contexts.get(event.subject_id), now, rules=rules)
            for event in events if event.kind not in rules.muted_kinds]
