"""What every AWS-derived event shares: whose it is, its key version, when it was seen, and the rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from poller.core.events import make_event
from poller.core.model import Change, Event
from poller.core.rules import RuleConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class AwsContext:
    """What every AWS-derived event shares: whose it is, its key version and when we saw it."""

    subject_id: str
    deal_id: str | None
    version: str  # f"aws{revision}": the per-opportunity count of stored AWS view changes
    occurred_at: str
    rules: RuleConfig

    def event(self, kind: str, value: object, *, priority: str | None = None, changes: Iterable[Change] = (),
              facts: Iterable[tuple[str, str | None]] = ()) -> Event:
        return make_event(kind, self.subject_id, value=value, version=self.version, occurred_at=self.occurred_at,
                          rules=self.rules, deal_id=self.deal_id, priority=priority, changes=changes, facts=facts)
