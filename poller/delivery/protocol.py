"""The outbox protocol, written once against the Sink interface: write-ahead sends, and uncertain ones looked up first.

Each part of a row is marked `sending` (committed) before its batch leaves; an answer makes it `done`, `failed` or
`pending` again (by the sink's verdict), and a timeout, a 5xx or a crash leaves it `unknown`: looked up once it had
time to settle, and resent only if it is not there.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from poller.core.preferences import Preferences
from poller.core.rules import RuleConfig
from poller.core.timefmt import iso, parse_iso
from poller.delivery.preferences import Preferring
from poller.delivery.rollup import queue_rollups
from poller.delivery.routing import Deals, Owners, route_pending
from poller.delivery.sink import BatchRefused, Sent, Sink, Verdict
from poller.errors import DailyLimitReached, Deferred, FatalError, StopRequested, UnknownOutcome
from poller.store.database import StateStore
from poller.store.outbox import OutboxRow, Part, State

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8  # sends of one row, task and note together (a clean delivery takes 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryOutcome:
    delivered: int
    parked: int
    deferred: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """Delivers the outbox through its sinks: routes each row, sends it once, and settles what is uncertain."""

    store: StateStore
    owners: Owners
    deals: Deals
    fallback_owner_id: str | None
    clock: Callable[[], dt.datetime]
    preferences: Preferences | None = None  # owners' preferences, digests and roll-ups (none: every row at once)
    rules: RuleConfig | None = None  # how digests are worded

    def deliver(self, sinks: Sequence[Sink]) -> DeliveryOutcome:
        """Every routable row through its sink as exactly one delivery (or as much as the budgets allow); a sink
        that must stop or cannot be used leaves its rows for the next cycle and the next sink still goes, unless the
        run must stop. The first sink that could not be used fails the run once the others had their turn."""
        delivered, parked, deferred = 0, 0, []
        failure: FatalError | None = None
        for sink in sinks:
            try:
                outcome, stop = self._deliver(sink)
            except FatalError as exc:  # its rows stay pending; one broken sink never holds back another
                log.error("%s cannot be used now: %s; its notifications wait in the outbox", sink.label, exc)
                failure = failure or exc
                continue
            delivered, parked = delivered + outcome.delivered, parked + outcome.parked
            deferred += [outcome.deferred] if outcome.deferred else []
            if stop:
                break
        if failure is not None:
            raise failure
        return DeliveryOutcome(delivered=delivered, parked=parked, deferred="; ".join(deferred) or None)

    def _deliver(self, sink: Sink) -> tuple[DeliveryOutcome, bool]:
        store = self.store
        started = iso(self.clock())
        with store.atomic():  # we hold the lease: a row still `sending` belongs to a process that died mid-request
            store.outbox.recover_sending(sink.name)
        deferred, parked, stop = None, 0, False
        try:
            sink.prepare()
            self.reconcile_unknown(sink)
            for _ in range(3):  # a row that ends `unknown` or re-routed is checked and, if need be, resent this run
                parked = route_pending(store, sink, self.owners, self.deals, self.fallback_owner_id, self.clock)
                # Owners' preferences shape what rings their own bell; a channel or topic follows its own route.
                if self.preferences is not None and self.preferences.configured and sink.personal:
                    self._prefer(sink)
                sent = sum(self.send_pending(sink, part) for part in sink.parts)
                again = self.reconcile_unknown(sink) + store.outbox.awaiting_route(sink.name)
                if not sent or not again:
                    break
            self._report_unsettled(sink)
        except (Deferred, UnknownOutcome) as exc:  # nothing is lost: the rows wait in the outbox
            deferred, stop = str(exc), isinstance(exc, StopRequested)
            level = logging.ERROR if isinstance(exc, DailyLimitReached) else logging.INFO
            log.log(level, "delivery stopped: %s; the rest goes out next cycle", exc)
        delivered = store.outbox.delivered_since(sink.name, started)
        return DeliveryOutcome(delivered=delivered, parked=parked, deferred=deferred), stop

    def _prefer(self, sink: Sink) -> None:
        """Between routing (who) and sending: what reaches each owner and when, and the managers' roll-ups (made
        after routing, so they count the rows routed to their team)."""
        assert self.preferences is not None
        Preferring(store=self.store, preferences=self.preferences, rules=self.rules or RuleConfig.default(),
                   owners=self.owners, clock=self.clock).apply(sink.name)
        queue_rollups(self.store, self.preferences, self.owners, self.clock, [sink.name])

    def send_pending(self, sink: Sink, part: Part) -> int:
        """Send pending rows of one part in the sink's batches (HubSpot ≤100); return how many requests were made."""
        requests = 0
        while True:
            rows = self.store.outbox.sendable(sink.name, part, needs_deal=sink.needs_deal(part), limit=sink.batch_size)
            if not rows:
                return requests
            requests += self._send(sink, part, rows)

    def _send(self, sink: Sink, part: Part, rows: Sequence[OutboxRow]) -> int:
        """One batch create (write-ahead `sending` first); a whole-batch refusal is split to find the input at fault."""
        keys = [r["event_key"] for r in rows]
        now = self.clock()
        with self.store.atomic():  # write-ahead: committed before the request leaves
            self.store.outbox.mark(part, keys, State.SENDING, iso(now), sink=sink.name, count_attempt=True)
        try:
            sent = sink.send(part, rows, now)
        except UnknownOutcome as exc:
            self._finish(sink, part, keys, State.UNKNOWN, f"outcome unknown: {exc}")
            log.warning("%d %ss in an uncertain state (%s); they are checked before any resend", len(keys), part, exc)
            return 1
        except BatchRefused as exc:
            if exc.verdict is Verdict.REKEY:
                self._finish(sink, part, keys, State.PENDING, str(exc))  # refused, so nothing was created: send again
                sink.rekey(part)
                return 1
            if exc.verdict is Verdict.SPLIT and len(rows) > 1:
                # Nothing was created and the refusal may name only the first bad input: halve until it is alone,
                # so one bad row does not take ninety-nine good ones with it.
                self._finish(sink, part, keys, State.PENDING, str(exc))
                middle = len(rows) // 2
                return 1 + self._send(sink, part, rows[:middle]) + self._send(sink, part, rows[middle:])
            with self.store.atomic():
                self._fail(sink, part, keys, iso(self.clock()), str(exc))
            log.error("%s rejected a %s batch: %s", sink.label, part, exc)
            return 1
        except (Deferred, FatalError) as exc:
            self._finish(sink, part, keys, State.PENDING, str(exc))  # never reached the sink (429 / refused): later
            raise
        if sent.unanswered is not None:
            self._finish(sink, part, keys, State.UNKNOWN, sent.unanswered)
            return 1
        self._record(sink, part, keys, sent)
        return 1

    def _record(self, sink: Sink, part: Part, keys: list[str], sent: Sent) -> None:
        created, refused = sent.created, sent.refused
        now = iso(self.clock())
        outbox = self.store.outbox
        with self.store.atomic():
            outbox.mark(part, [k for k in keys if k in created], State.DONE, now, sink=sink.name, object_ids=created)
            for key, refusal in refused.items():
                if key in created or key not in keys:
                    continue
                if refusal.verdict is Verdict.FAILED:
                    self._fail(sink, part, [key], now, refusal.message)
                elif refusal.verdict is Verdict.REKEY:  # refused, so not created: send again once the key has a home
                    outbox.mark(part, [key], State.PENDING, now, sink=sink.name, error=refusal.message)
                elif refusal.verdict is Verdict.REROUTE:  # the owner was refused: route again from a fresh owners list
                    # Each re-route was a send, and counts toward the cap: an owner the sink keeps refusing ends failed.
                    reason = f"{sink.label} refused the owner: {refusal.message}"
                    for again in self._retry_or_give_up(sink, part, [key], now, reason):
                        outbox.unroute(again, reason, now, sink=sink.name)
                        outbox.note(again, "rerouted", refusal.message, now, sink=sink.name)
                else:
                    self._retry_or_give_up(sink, part, [key], now, refusal.message)
            missing = [k for k in keys if k not in created and k not in refused]
            outbox.mark(part, missing, State.UNKNOWN, now, sink=sink.name, error=f"not in {sink.label}'s batch response")
        if any(r.verdict is Verdict.REROUTE for r in refused.values()):
            self.owners.forget_owners()
        if any(r.verdict is Verdict.REKEY for r in refused.values()):
            sink.rekey(part)
        for key, refusal in refused.items():
            log.error("%s refused the %s of %s (%s): %s", sink.label, part, key, refusal.verdict, refusal.message)

    def _retry_or_give_up(self, sink: Sink, part: Part, keys: list[str], now: str, error: str | None) -> list[str]:
        """Back to `pending` for the next send, unless the row has been sent MAX_ATTEMPTS times: then `failed`.
        Returns the keys that go out again."""
        if not keys:
            return []
        spent = self.store.outbox.attempts_spent(sink.name, keys, MAX_ATTEMPTS)
        again = [k for k in keys if k not in spent]
        self.store.outbox.mark(part, again, State.PENDING, now, sink=sink.name, error=error)
        for key in spent:
            self._fail(sink, part, [key], now, f"gave up after {MAX_ATTEMPTS} attempts: {error or 'not created'}")
            log.error("gave up on the %s of %s after %d attempts", part, key, MAX_ATTEMPTS)
        return again

    def _fail(self, sink: Sink, part: Part, keys: list[str], now: str, error: str) -> None:
        """`failed` with the sink's reason, in the row's history too (`poller outbox retry` puts it back)."""
        self.store.outbox.mark(part, keys, State.FAILED, now, sink=sink.name, error=error)
        for key in keys:
            self.store.outbox.note(key, "failed", f"{part}: {error}", now, sink=sink.name)

    def _finish(self, sink: Sink, part: Part, keys: list[str], state: State, error: str) -> None:
        with self.store.atomic():
            self.store.outbox.mark(part, keys, state, iso(self.clock()), sink=sink.name, error=error)

    def reconcile_unknown(self, sink: Sink) -> int:
        """Look up each uncertain object that had time to settle: found → done; absent → pending. Returns how many
        go out again. One still within its settle time waits (as `unknown`) for a later pass or the next cycle."""
        resend = 0
        now = self.clock()
        for part in sink.parts:
            rows = [r for r in self.store.outbox.uncertain(sink.name, part) if settled(r, now, sink.settle_seconds(r))]
            if not rows:
                continue
            checked = [r["event_key"] for r in rows]
            found = sink.find_by_keys(part, rows)
            stamp = iso(self.clock())
            with self.store.atomic():
                self.store.outbox.mark(part, [k for k in checked if k in found], State.DONE, stamp, sink=sink.name,
                                       object_ids=found)
                resend += len(self._retry_or_give_up(sink, part, [k for k in checked if k not in found], stamp, None))
            if found:
                log.info("reconciled %d %ss that %s had created before we recorded them", len(found), part, sink.label)
        return resend

    def _report_unsettled(self, sink: Sink) -> None:
        count, oldest = self.store.outbox.unsettled(sink.name)
        if count:
            log.info("%d uncertain sends are looked up once they settle (%.0f s after %s); the next cycle does it if "
                     "this one ends sooner", count, sink.settle_time, oldest)


def settled(row: OutboxRow, now: dt.datetime, seconds: float) -> bool:
    """Whether an uncertain send is old enough to look up: the sink has finished with it (and indexed it)."""
    since = row.get("sending_since") or row.get("updated_at")
    return since is None or parse_iso(since) <= now - dt.timedelta(seconds=seconds)
