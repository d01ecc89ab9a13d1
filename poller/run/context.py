"""A Run, opened once for a cycle or a backfill: its lease, its row, mode, baseline, tally and limits."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from poller.app import App
from poller.budget.limits import Limits
from poller.clock import monotonic
from poller.core.model import Notification
from poller.core.notes.wording import clip
from poller.core.timefmt import iso
from poller.core.wire import storable
from poller.errors import MalformedRecord
from poller.store.lease import Lease, takeover_grace

log = logging.getLogger(__name__)
CURSOR = "opportunities"  # the main listing's cursor (a backfill's window has its own)
REASON_CAP = 300  # a reason quotes at most a clipped value, but an exception's text can be anything


@dataclass(slots=True, kw_only=True)
class RunTally:
    """What one run did, for its run row and summary."""

    pages: int = 0
    changed: int = 0
    swept: int = 0
    events: int = 0  # new events (keys not seen before)
    derived: int = 0  # every event derived, new or already known (backfill reports both)
    skipped: list[str] = field(default_factory=list)
    skipped_reasons: dict[str, str] = field(default_factory=dict)  # id → why, for the run row
    read: set[str] = field(default_factory=set)  # ids whose details this run already tried to read
    notifications: list[Notification] = field(default_factory=list)

    def skip(self, record_id: str, reason: str, label: str = "malformed") -> str:
        """Name a skipped record in the log and the run row; returns the reason as stored (clean, clipped)."""
        reason = clip(storable(reason), REASON_CAP)
        log.warning("skipped %s record %s: %s (it will be read again next cycle)", label, record_id, reason)
        if record_id not in self.skipped:
            self.skipped.append(record_id)
        self.skipped_reasons[record_id] = f"{label}: {reason}"
        return self.skipped_reasons[record_id]

    def skip_error(self, exc: MalformedRecord, record_id: str | None = None) -> str:
        return self.skip(record_id or exc.record_id, exc.reason, exc.label)


@dataclass(slots=True)
class Outcome:
    """How a run ended: ok, partial (a budget or a stop deferred the rest), or failed; and what it delivered."""

    status: str = "ok"  # ok | partial | failed
    error: str | None = None
    deferred: str | None = None
    delivered: int = 0
    parked: int = 0

    def defer(self, reason: str) -> None:
        self.status = "partial"
        if reason in (self.deferred or "").split("; "):
            return  # the same limit stopping a later phase too
        log.info("stopping cleanly: %s; the next cycle continues from the checkpoint", reason)
        self.deferred = "; ".join(filter(None, (self.deferred, reason)))

    def fail(self, reason: str) -> None:
        log.error("cycle failed: %s", reason)
        self.status, self.error = "failed", "; ".join(filter(None, (self.error, reason)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """Another run held the lease: this one recorded a `skipped` row and did nothing else."""

    run_id: int
    message: str


@dataclass(slots=True, kw_only=True)
class Run:
    """Everything a phase needs about the run it belongs to; `with run:` releases the lease however it ends."""

    app: App
    id: int
    mode: str
    lease: Lease
    limits: Limits
    started: float  # monotonic, for the duration and the time budget
    cursor_before: str | None
    baseline: bool = False  # a first run's silent baseline: nothing it finds is announced (pending invitations are)
    tally: RunTally = field(default_factory=RunTally)
    outcome: Outcome = field(default_factory=Outcome)

    def check(self) -> None:
        """At a page boundary: the lease's heartbeat, then stop here if a signal, the time or the reads say so."""
        self.limits.check(self.lease)

    def close(self, *, cycle: bool = True) -> dict[str, Any]:
        """Write the run row's outcome (before the lease goes, so the next run finds it finished); returns it.

        A backfill's row has no sweep count and no skip reasons (`cycle=False`), as it never had.
        """
        app, tally, outcome = self.app, self.tally, self.outcome
        fields: dict[str, Any] = dict(
            status=outcome.status, finished_at=iso(app.clock()), duration_ms=int((monotonic() - self.started) * 1000),
            cursor_after=app.store.cursor(CURSOR), pages=tally.pages, opportunities_changed=tally.changed)
        if cycle:
            fields["swept"] = tally.swept
        fields.update(events=tally.events, delivered=outcome.delivered, parked=outcome.parked,
                      deferred=outcome.deferred, skipped_ids=tally.skipped)
        if cycle:
            fields["skipped_reasons"] = tally.skipped_reasons or None
        fields.update(api_calls=dict(app.api_calls), error=outcome.error)
        app.store.runs.update(self.id, **fields)
        return fields

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.app.lease = None
        self.lease.release()


def open_run(app: App, mode: str, *, when_held: str, lease_ttl: float | None = None,
             stop_requested: Callable[[], bool] | None = None) -> Run | Skipped:
    """Take the lease and open the run's row; or, when another run holds the lease, record a skipped run.

    `when_held` ends the one line that says so. From here on every API request renews the lease (App.at_boundary).
    """
    started = monotonic()
    now = app.clock()
    lease = app.store.lease(ttl=takeover_grace(app.settings.http_timeout) if lease_ttl is None
                            else dt.timedelta(seconds=lease_ttl))
    holder = lease.acquire(now)
    if holder is not None:
        message = f"another run holds the lease ({holder.holder}, until {holder.expires_at}); {when_held}"
        run_id = app.store.runs.record_skip(mode, iso(now), message)
        log.info("%s", message)
        return Skipped(run_id=run_id, message=message)
    app.lease = lease  # renewed before every API request from here on
    try:
        app.api_calls.clear()
        cursor_before = app.store.cursor(CURSOR)
        run_id = app.store.runs.start(mode, iso(now), cursor_before)
    except BaseException:
        app.lease = None
        lease.release()
        raise
    return Run(app=app, id=run_id, mode=mode, lease=lease, limits=app.limits(started, stop_requested), started=started,
               cursor_before=cursor_before)
