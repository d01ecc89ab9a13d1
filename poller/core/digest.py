"""Folding a window's events into one digest: its key from its members' keys, and changes that reverted dropped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from poller.core.model import Change, Event, stable_hash

# Kinds whose changes are values that moved (field: old → new), so a later move back cancels them. A review decision,
# a new AWS team member, a new resource or a conflict is something that happened, never undone by a later read.
VALUES = frozenset({"opportunity_updated", "engagement_score_changed"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Folded:
    kept: tuple[Event, ...]  # in order, each with only the changes that did not revert
    reverted: tuple[Event, ...]  # every change of these came back to where it started within the window


def digest_key(member_keys: Iterable[str]) -> str:
    """An event key like any other, from the sorted keys of the events it folds: the same members, the same key."""
    return "evk_" + stable_hash(["digest", sorted(member_keys)])[:24]


def _same(a: Any, b: Any) -> bool:
    return str(a if a is not None else "").strip().casefold() == str(b if b is not None else "").strip().casefold()


def fold(events: Sequence[Event]) -> Folded:
    """Net the window's changes field by field: a field that ends where it started (A→B→A, every step in this
    window) is dropped, and an event left with nothing to say is dropped with it."""
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    broken: set[str] = set()
    for event in events:
        if event.kind in VALUES:
            for change in event.changes:
                if change.field in last and not _same(last[change.field], change.old):
                    broken.add(change.field)  # a move outside the digest (a HIGH one sent at once) came between
                first.setdefault(change.field, change.old)
                last[change.field] = change.new
    back = {name for name in first if name not in broken and _same(first[name], last[name])}
    kept: list[Event] = []
    reverted: list[Event] = []
    for event in events:
        if event.kind not in VALUES or not event.changes:
            kept.append(event)
            continue
        changes = tuple(c for c in event.changes if c.field not in back)
        if not changes:
            reverted.append(event)
        else:
            kept.append(event if len(changes) == len(event.changes) else replace(event, changes=changes))
    return Folded(kept=tuple(kept), reverted=tuple(reverted))


def event_from_payload(data: dict[str, Any]) -> Event:
    """An Event as the events table stores it (JSON of the dataclass)."""
    return Event(**{**data, "changes": tuple(Change(**c) for c in data.get("changes") or ()),
                    "facts": tuple((str(k), str(v)) for k, v in data.get("facts") or ())})
