"""Which notifications a sink takes: its kinds, a lowest priority and its owners (HubSpot's route takes everything)."""

from __future__ import annotations

from dataclasses import dataclass

from poller.core.model import PRIORITIES

RANK = {priority: rank for rank, priority in enumerate(reversed(PRIORITIES))}  # LOW 0 < MEDIUM 1 < HIGH 2


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkRoute:
    """One sink's share of the notifications. Kind and priority are known when an event is queued, so a row is made
    only for the sinks that take it; the owner is known only when the row is routed (the deal's owner then)."""

    sink: str
    notes: bool = False  # the sink sends a note beside the task (HubSpot); the others send one message per row
    kinds: frozenset[str] | None = None  # None: every kind
    min_priority: str = "LOW"
    owners: frozenset[str] | None = None  # HubSpot owner ids; None: every owner

    def takes(self, kind: str, priority: str) -> bool:
        """Whether a notification of this kind and priority gets a row for this sink."""
        return (self.kinds is None or kind in self.kinds) and RANK.get(priority, 0) >= RANK[self.min_priority]

    def takes_owner(self, owner_id: str) -> bool:
        """Whether a row routed to this owner stays with this sink."""
        return self.owners is None or owner_id in self.owners
