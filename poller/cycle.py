"""One cycle: lease → poll changed opportunities → refetch → sweep → invitations → deliver → run row."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from poller.app import App
from poller.budget.limits import Limits
from poller.budget.reads import READS_PER_RECORD
from poller.clock import monotonic
from poller.core.timefmt import iso
from poller.cursor import listing_since
from poller.deal_recheck import recheck_deals
from poller.errors import Deferred, FatalError
from poller.ingest import RunTally, commit_page, fetch_details, ingest_listed_page
from poller.invitations import poll_invitations
from poller.store.lease import Lease, takeover_grace
from poller.sweep import sweep

log = logging.getLogger(__name__)
CURSOR = "opportunities"
BASELINE_PENDING = "baseline_pending"  # meta key: set while a first-run baseline listing has not completed


@dataclass(slots=True, kw_only=True)
class RunResult:
    run_id: int
    status: str  # ok | partial | skipped | failed
    exit_code: int
    summary: dict[str, Any] = field(default_factory=dict)
    notifications: list[Any] = field(default_factory=list)


def poll_opportunities(app: App, *, run_id: int, baseline: bool, tally: RunTally, limits: Limits,
                       lease: Lease | None) -> None:
    """List opportunities modified since cursor − lookback, page by page; each page commits on its own."""
    listed_at = app.clock()  # the listing's request time: the cursor never passes it by more than the skew
    since = listing_since(app, CURSOR, listed_at)
    # Records a baseline had to skip stay silent when the listing brings them back.
    silent = frozenset(oid for oid, was_baseline in app.store.records.refetch_queue() if was_baseline)
    for page in app.pc.list_opportunities(since):
        ingest_listed_page(app, page, run_id=run_id, baseline=baseline, source="cycle", tally=tally,
                           cursor_name=CURSOR, silent_ids=silent, listed_at=listed_at)
        limits.check(lease)


def refetch(app: App, *, run_id: int, tally: RunTally, baseline: bool = False) -> None:
    """Read again the records earlier cycles had to skip; one skipped during the baseline stays silent."""
    # A record that failed moments ago in this cycle waits for the next one rather than being read twice.
    queue = [(oid, was_baseline) for oid, was_baseline in app.store.records.refetch_queue() if oid not in tally.read]
    for silent in (True, False):
        ids = [oid for oid, was_baseline in queue if (was_baseline or baseline) == silent]
        afford = app.reads.affordable(len(ids), READS_PER_RECORD)  # the rest stays queued for the next cycle
        ids, unaffordable = ids[:afford], afford < len(ids)
        if not ids and not unaffordable:
            continue
        stored = app.store.records.opportunities(ids)
        fetched = fetch_details(app, ids, stored, tally, baseline=silent)
        tally.changed += len(fetched)
        commit_page(app, fetched, run_id=run_id, baseline=silent, source="cycle", tally=tally, stored=stored)
        if unaffordable:
            raise app.reads.spent()


def read_partner_central(app: App, *, run_id: int, baseline: bool, tally: RunTally, limits: Limits,
                         lease: Lease | None, sweep_all: bool = False) -> None:
    """The budgeted reading phases: changed opportunities, records to read again, and the sweep (all: --sweep)."""
    poll_opportunities(app, run_id=run_id, baseline=baseline, tally=tally, limits=limits, lease=lease)
    if baseline:
        app.store.set_meta(BASELINE_PENDING, False)
    refetch(app, run_id=run_id, tally=tally, baseline=baseline)
    limits.check(lease)
    recheck_deals(app, run_id=run_id, tally=tally, limits=limits, lease=lease)
    if not baseline:
        sweep(app, run_id=run_id, tally=tally, limits=limits, lease=lease, every=sweep_all)


@dataclass(slots=True)
class _Outcome:
    status: str = "ok"
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


def _bounded(outcome: _Outcome, limits: Limits, phase: Callable[[], None]) -> None:
    """Run one reading phase; a spent budget ends it cleanly, a failure fails the run, and either way the cycle goes
    on to the next phase and to delivery: what is already queued must not wait for a phase that cannot read."""
    try:
        phase()
    except Deferred as exc:
        if limits.stop_requested():
            raise
        outcome.defer(str(exc))
    except FatalError as exc:
        outcome.fail(str(exc))
    except Exception as exc:  # a bug or an unforeseen answer: the page's transaction rolled back; one line
        log.debug("reading phase failure", exc_info=True)
        outcome.fail(f"{type(exc).__name__}: {exc}")


def _phases(app: App, *, run_id: int, baseline: bool, tally: RunTally, limits: Limits, lease: Lease,
            deliver: bool, sweep_all: bool = False) -> _Outcome:
    """Poll invitations, read opportunities, deliver; every way this can end becomes the outcome, never an exception."""
    outcome = _Outcome()
    try:
        # Reading is bounded, but what is queued still goes out: a long baseline or backlog, or a phase that fails,
        # must not starve delivery. Referrals come first: they are actionable and expire, and in steady state they
        # cost one read a cycle, so no backlog or sweep can spend the read budget before them.
        _bounded(outcome, limits, lambda: poll_invitations(app, run_id=run_id, baseline=baseline, tally=tally,
                                                           limits=limits, lease=lease))
        _bounded(outcome, limits, lambda: read_partner_central(app, run_id=run_id, baseline=baseline, tally=tally,
                                                               limits=limits, lease=lease, sweep_all=sweep_all))
        if deliver and app.sinks:
            delivery = app.deliver()
            outcome.delivered, outcome.parked = delivery.delivered, delivery.parked
            if delivery.deferred:
                outcome.defer(delivery.deferred)
        if app.hubspot is not None:  # pages went on without their deals: the run still says why (partial / failed)
            app.hubspot.raise_if_unavailable()
    except Deferred as exc:
        outcome.defer(str(exc))
    except FatalError as exc:
        outcome.fail(str(exc))
    except Exception as exc:  # a bug or an unforeseen API answer: the page transaction rolled back; one line
        log.debug("cycle failure", exc_info=True)
        outcome.fail(f"{type(exc).__name__}: {exc}")
    return outcome


def run_cycle(app: App, *, mode: str = "run", deliver: bool = True, lease_ttl: float | None = None,
              stop_requested: Callable[[], bool] | None = None, sweep_all: bool = False) -> RunResult:
    """One complete, bounded cycle. Never raises for API trouble: the result carries the exit code.

    `sweep_all` re-reads every open opportunity's AWS summary, not only those due (`poller run --sweep`).
    """
    started = monotonic()
    now = app.clock()
    lease = Lease(app.store.db, ttl=takeover_grace(app.settings.http_timeout) if lease_ttl is None
                  else dt.timedelta(seconds=lease_ttl))
    holder = lease.acquire(now)
    if holder is not None:
        message = f"another run holds the lease ({holder.holder}, until {holder.expires_at}); skipping"
        run_id = app.store.runs.record_skip(mode, iso(now), message)
        log.info("%s", message)
        return RunResult(run_id=run_id, status="skipped", exit_code=0, summary={"run_id": run_id, "status": "skipped",
                                                                                "message": message})
    app.lease = lease  # renewed before every API request from here on
    try:
        app.api_calls.clear()
        cursor_before = app.store.cursor(CURSOR)
        run_id = app.store.runs.start(mode, iso(now), cursor_before)
        tally = RunTally()
        # A baseline cut short (budget, failure) stays a baseline until its listing completes: the next cycle goes on.
        baseline = (cursor_before is None and app.store.records.is_empty()) or bool(app.store.meta(BASELINE_PENDING))
        if baseline:
            log.info("first run on an empty database: recording a silent baseline (pending invitations notify)")
            app.store.set_meta(BASELINE_PENDING, True)
        limits = app.limits(started, stop_requested)
        app.begin_run()  # HubSpot is tried afresh, and its 429s are waited out within the time budget
        outcome = _phases(app, run_id=run_id, baseline=baseline, tally=tally, limits=limits, lease=lease,
                          deliver=deliver, sweep_all=sweep_all)
        fields = dict(status=outcome.status, finished_at=iso(app.clock()),
                      duration_ms=int((monotonic() - started) * 1000), cursor_after=app.store.cursor(CURSOR),
                      pages=tally.pages, opportunities_changed=tally.changed, swept=tally.swept, events=tally.events,
                      delivered=outcome.delivered, parked=outcome.parked, deferred=outcome.deferred,
                      skipped_ids=tally.skipped, skipped_reasons=tally.skipped_reasons or None,
                      api_calls=dict(app.api_calls), error=outcome.error)
        app.store.runs.update(run_id, **fields)  # closed before the lease goes, so the next run finds it finished
    finally:
        app.lease = None
        lease.release()
    summary = {"run_id": run_id, "mode": mode, "baseline": baseline, "cursor_before": cursor_before,
               "notifications": len(tally.notifications), **fields}
    log.info("run %d %s: %d pages, %d changed, %d swept, %d events, %d delivered, %d parked, calls %s, "
             "cursor %s → %s, %d ms", run_id, outcome.status, tally.pages, tally.changed, tally.swept, tally.events,
             outcome.delivered, outcome.parked, fields["api_calls"], cursor_before, fields["cursor_after"],
             fields["duration_ms"], extra={"summary": summary})
    return RunResult(run_id=run_id, status=outcome.status, exit_code=1 if outcome.status == "failed" else 0,
                     summary=summary, notifications=tally.notifications)
