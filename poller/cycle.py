"""One cycle: lease → poll changed opportunities → refetch → sweep → invitations → deliver → run row."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from poller.app import App
from poller.core.errors import MalformedRecord
from poller.core.normalize import listed_version
from poller.core.timefmt import iso, parse_iso
from poller.errors import BudgetExhausted, FatalError
from poller.ingest import RunTally, derive_and_commit, fetch_details
from poller.invitations import poll_invitations
from poller.partner_central import HOST as PC_HOST
from poller.sweep import sweep
from state.budget import Budgets
from state.lease import Lease

log = logging.getLogger(__name__)
CURSOR = "opportunities"


@dataclass(slots=True, kw_only=True)
class RunResult:
    run_id: int
    status: str  # ok | partial | skipped | failed
    exit_code: int
    summary: dict[str, Any] = field(default_factory=dict)
    notifications: list[Any] = field(default_factory=list)


class Limits:
    """The run's time budget (monotonic) and the job's Partner Central daily read budget, checked between pages."""

    def __init__(self, app: App, started: float, clock: Callable[[], float] = time.monotonic):
        self.app = app
        self.started = started
        self.clock = clock
        self.budgets = Budgets(app.store.db)

    def check(self, lease: Lease | None = None) -> None:
        if lease is not None:
            lease.heartbeat(self.app.clock())
        if self.clock() - self.started > self.app.settings.run_time_budget:
            raise BudgetExhausted(f"run time budget of {self.app.settings.run_time_budget:.0f}s spent")
        used = self.budgets.used_today(PC_HOST, self.app.clock())
        if used >= self.app.settings.pc_daily_budget:
            raise BudgetExhausted(f"Partner Central daily read budget spent ({used} of {self.app.settings.pc_daily_budget})")


def poll_opportunities(app: App, *, run_id: int, baseline: bool, tally: RunTally, limits: Limits, lease: Lease | None,
                       since_override: str | None = None, until: str | None = None, source: str = "cycle",
                       move_cursor: bool = True) -> None:
    """List opportunities modified since cursor − lookback, page by page; each page commits on its own."""
    cursor = app.store.cursor(CURSOR)
    since = since_override
    if since is None and cursor is not None:
        since = iso(parse_iso(cursor) - dt.timedelta(seconds=app.settings.lookback))
    for page in app.pc.list_opportunities(since):
        tally.pages += 1
        listed: dict[str, str] = {}
        for item in page:
            try:
                oid, last_modified = listed_version(item)
            except MalformedRecord as exc:
                tally.skip(exc.record_id, exc.reason)
                continue
            if until is None or last_modified <= until:
                listed[oid] = last_modified
        versions = app.store.records.versions(list(listed))
        # Boundary repeats from the lookback come back with the same LastModifiedDate: no Get calls for them.
        changed = [oid for oid, lm in listed.items() if versions.get(oid) != lm]
        stored = app.store.records.opportunities(changed)
        fetched = fetch_details(app, changed, stored, tally)
        tally.changed += len(fetched)
        high_water = max(listed.values(), default=None)
        derive_and_commit(app, fetched, run_id=run_id, baseline=baseline, source=source, tally=tally, stored=stored,
                          cursor=(CURSOR, high_water) if move_cursor and high_water else None)
        limits.check(lease)


def refetch(app: App, *, run_id: int, tally: RunTally) -> None:
    """Read again the records a previous cycle had to skip."""
    ids = app.store.records.refetch_ids()
    if not ids:
        return
    stored = app.store.records.opportunities(ids)
    fetched = fetch_details(app, ids, stored, tally)
    tally.changed += len(fetched)
    derive_and_commit(app, fetched, run_id=run_id, baseline=False, source="cycle", tally=tally, stored=stored)


def run_cycle(app: App, *, mode: str = "run", deliver: bool = True, lease_ttl: float = 900.0) -> RunResult:
    """One complete, bounded cycle. Never raises for API trouble: the result carries the exit code."""
    started = time.monotonic()
    now = app.clock()
    lease = Lease(app.store.db, ttl=dt.timedelta(seconds=lease_ttl))
    holder = lease.acquire(now)
    if holder is not None:
        message = f"another run holds the lease ({holder.holder}, until {holder.expires_at}); skipping"
        run_id = app.store.runs.record_skip(mode, iso(now), message)
        log.info("%s", message)
        return RunResult(run_id=run_id, status="skipped", exit_code=0, summary={"run_id": run_id, "status": "skipped",
                                                                                "message": message})
    app.api_calls.clear()
    cursor_before = app.store.cursor(CURSOR)
    run_id = app.store.runs.start(mode, iso(now), cursor_before)
    tally = RunTally()
    limits = Limits(app, started)
    status, error, deferred, delivered, parked = "ok", None, None, 0, 0
    baseline = cursor_before is None and app.store.records.is_empty()
    try:
        if baseline:
            log.info("first run on an empty database: recording a silent baseline (pending invitations still notify)")
        poll_opportunities(app, run_id=run_id, baseline=baseline, tally=tally, limits=limits, lease=lease)
        refetch(app, run_id=run_id, tally=tally)
        limits.check(lease)
        if not baseline:
            sweep(app, run_id=run_id, tally=tally, limits=limits, lease=lease)
        poll_invitations(app, run_id=run_id, baseline=baseline, tally=tally)
        if deliver and app.hubspot is not None:
            outcome = app.hubspot.deliver_outbox(limits=limits)
            delivered, parked = outcome.delivered, outcome.parked
            if outcome.deferred:
                status, deferred = "partial", outcome.deferred
    except BudgetExhausted as exc:
        status, deferred = "partial", str(exc)
        log.info("stopping cleanly: %s; the next cycle continues from the checkpoint", exc)
    except FatalError as exc:
        status, error = "failed", str(exc)
        log.error("cycle failed: %s", exc)
    except Exception as exc:  # a bug or an unforeseen API answer: the page transaction rolled back; say so in one line
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        log.error("cycle failed: %s", error)
        log.debug("cycle failure", exc_info=True)
    finally:
        lease.release()
    duration_ms = int((time.monotonic() - started) * 1000)
    cursor_after = app.store.cursor(CURSOR)
    fields = dict(status=status, finished_at=iso(app.clock()), duration_ms=duration_ms, cursor_after=cursor_after,
                  pages=tally.pages, opportunities_changed=tally.changed, swept=tally.swept, events=tally.events,
                  delivered=delivered, parked=parked, deferred=deferred, skipped_ids=tally.skipped,
                  api_calls=dict(app.api_calls), error=error)
    app.store.runs.update(run_id, **fields)
    summary = {"run_id": run_id, "mode": mode, "baseline": baseline, "cursor_before": cursor_before,
               "notifications": len(tally.notifications), **fields}
    log.info("run %d %s: %d pages, %d changed, %d swept, %d events, %d delivered, %d parked, calls %s, %d ms",
             run_id, status, tally.pages, tally.changed, tally.swept, tally.events, delivered, parked,
             dict(app.api_calls), duration_ms)
    return RunResult(run_id=run_id, status=status, exit_code=1 if status == "failed" else 0, summary=summary,
                     notifications=tally.notifications)
