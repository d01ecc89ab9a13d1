"""Owners' preferences applied to routed rows: each decided once, and held rows folded into one digest when due.

A digest is an outbox row like any other (its own event and key, derived from its members' keys), written in the
same transaction that marks its members `digested`, so a crash leaves either the held rows or the digest, and a
rerun folds the same members into the same key. It is then sent by the ordinary protocol, write-ahead and looked
up by key when uncertain.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from poller.core.decide import HOUR, SEND, SUPPRESS, decide, flood_free_at, release
from poller.core.digest import digest_key, event_from_payload, fold
from poller.core.model import Event, Invitation, Snapshot
from poller.core.notes.digest import render_digest
from poller.core.preferences import OwnerPreferences, Preferences
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso, parse_iso
from poller.delivery.routing import Owners
from poller.store.database import StateStore
from poller.store.outbox import OutboxRow, State

log = logging.getLogger(__name__)


def _moment(value: dt.datetime | None) -> str | None:
    return iso(value) if value is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferring:
    """Applies `[preferences]` to one sink's rows between routing and sending."""

    store: StateStore
    preferences: Preferences
    rules: RuleConfig
    owners: Owners
    clock: Callable[[], dt.datetime]

    def apply(self, sink: str) -> None:
        now = self.clock()
        emails = {oid: owner.get("email") for oid, owner in self.owners.active_owners().items()}
        self._decide(sink, now, emails)
        self._fold_due(sink, now, emails)

    def _prefs(self, owner_id: str, emails: Mapping[str, str | None]) -> OwnerPreferences:
        return self.preferences.effective(owner_id, emails.get(owner_id))

    def _recent(self, sink: str, now: dt.datetime) -> dict[str, list[dt.datetime]]:
        return {group: [parse_iso(t) for t in times]
                for group, times in self.store.digests.released_since(sink, iso(now - HOUR)).items()}

    def _decide(self, sink: str, now: dt.datetime, emails: Mapping[str, str | None]) -> None:
        rows = self.store.digests.undecided(sink)
        if not rows:
            return
        recent, stamp = self._recent(sink, now), iso(now)
        with self.store.atomic():
            for row in rows:
                group = row["deal_id"] or row["subject_id"]
                d = decide(kind=row["kind"], priority=row["priority"], due_at=parse_iso(row["due_at"]),
                           prefs=self._prefs(str(row["owner_id"]), emails), now=now, recent=recent.get(group, ()))
                if d.action == SEND:
                    recent.setdefault(group, []).append(now)
                state = None if d.action == SEND else State.SUPPRESSED if d.action == SUPPRESS else State.HELD
                self.store.digests.decide(row["event_key"], sink, stamp, state=state, reason=d.reason,
                                          released=d.action == SEND, hold_until=_moment(d.hold_until),
                                          remind_at=_moment(d.remind_at), due_at=_moment(d.due_at))

    def _fold_due(self, sink: str, now: dt.datetime, emails: Mapping[str, str | None]) -> None:
        due = self.store.digests.due(sink, iso(now))
        recent = self._recent(sink, now) if due else {}
        for owner_id, group in dict.fromkeys((str(r["owner_id"]), r["deal_id"] or r["subject_id"]) for r in due):
            prefs = self._prefs(owner_id, emails)
            if flood_free_at(recent.get(group, ()), prefs.flood_limit, now) is not None:
                continue  # the deal is at its hourly limit: the digest goes once the hour frees up
            self._fold(sink, owner_id, self.store.digests.held(sink, owner_id, group), prefs, now)
            recent.setdefault(group, []).append(now)

    def _fold(self, sink: str, owner_id: str, rows: Sequence[OutboxRow], prefs: OwnerPreferences,
              now: dt.datetime) -> None:
        """One owner's held rows on one deal become one digest (or their own task, or nothing if all reverted)."""
        stored = self.store.digests.payloads([r["event_key"] for r in rows])
        detected = {r["event_key"]: r["created_at"] for r in rows}
        events = sorted((event_from_payload(stored[k]) for k in detected if k in stored),
                        key=lambda e: (detected[e.key], e.occurred_at))
        keys = [r["event_key"] for r in rows]
        folded, stamp, digests = fold(events), iso(now), self.store.digests
        reverted = [e.key for e in folded.reverted]
        with self.store.atomic():
            if len(folded.kept) == 1 and folded.kept[0] in events:  # one thing to say: its own task says it best
                alone = next(r for r in rows if r["event_key"] == folded.kept[0].key)
                d = release("digest window with one event: sent as itself", parse_iso(alone["due_at"]), prefs, now)
                digests.decide(alone["event_key"], sink, stamp, state=State.PENDING, reason=d.reason, released=True,
                               remind_at=_moment(d.remind_at), due_at=_moment(d.due_at))
                digests.fold_into(reverted, sink, State.SUPPRESSED, None, "reverted within the digest window", stamp)
                return
            if not folded.kept:
                digests.fold_into(keys, sink, State.SUPPRESSED, None, "reverted within the digest window", stamp)
                return
            key = digest_key(keys)
            note = render_digest(key, folded.kept, self._context(folded.kept[-1]), now, rules=self.rules)
            d = release(f"digest of {len(folded.kept)} events", parse_iso(note.due_at), prefs, now)
            note = replace(note, due_at=_moment(d.due_at) or note.due_at)
            digests.add(note, sink=sink, owner_id=owner_id, route=str(rows[-1]["route_reason"] or "deal owner"),
                        reason=d.reason, now=stamp, source="digest", members=keys, remind_at=_moment(d.remind_at))
            digests.fold_into([e.key for e in folded.kept], sink, State.DIGESTED, key, f"in digest {key}", stamp)
            digests.fold_into(reverted, sink, State.SUPPRESSED, key, f"reverted within digest {key}'s window", stamp)
        log.info("folded %d events on %s for owner %s into digest %s", len(keys), note.deal_id or note.subject_id,
                 owner_id, key)

    def _context(self, event: Event) -> Snapshot | Invitation | None:
        """The subject as stored now: the digest names the deal as it is."""
        stored = self.store.records.opportunities([event.subject_id]).get(event.subject_id)
        if stored is not None:
            return stored.snapshot
        return self.store.records.invitations([event.subject_id]).get(event.subject_id)
