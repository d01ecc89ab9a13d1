"""Building Event values: key, priority and due time applied the same way for every kind."""

from __future__ import annotations

from collections.abc import Iterable

from poller.core.keys import event_key
from poller.core.model import Change, Event
from poller.core.rules import RuleConfig


def make_event(
    kind: str,
    subject_id: str,
    *,
    value: object,
    version: str,
    occurred_at: str,
    rules: RuleConfig,
    priority: str | None = None,
    changes: Iterable[Change] = (),
    facts: Iterable[tuple[str, str | None]] = (),
    deal_id: str | None = None,
) -> Event:
    """An Event keyed on (kind, subject, value, version); priority defaults to the kind's configured one."""
    chosen = priority or rules.priority_of(kind)
    return Event(
        kind=kind,
        subject_id=subject_id,
        key=event_key(kind, subject_id, value, version),
        priority=chosen,
        due_hours=rules.due_for(kind, chosen),
        occurred_at=occurred_at,
        changes=tuple(changes),
        facts=tuple((name, text) for name, text in facts if text),  # empty facts would only clutter the note
        deal_id=deal_id,
    )
