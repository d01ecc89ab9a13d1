"""One cycle: lease → invitations → opportunities → refetch → deal re-check → sweep → reminders → funding → send."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from poller.app import App
from poller.errors import Deferred, FatalError
from poller.run.benefits import poll_benefits
from poller.run.context import Outcome, Run, Skipped, open_run
from poller.run.deal_recheck import recheck_deals
from poller.run.invitations import poll_invitations
from poller.run.listing import poll_opportunities, refetch
from poller.run.reminders import remind
from poller.run.rereads import reread_requested
from poller.run.sweep import sweep

log = logging.getLogger(__name__)
BASELINE_PENDING = "baseline_pending"  # meta key: set while a first-run baseline listing has not completed


@dataclass(slots=True, kw_only=True)
class RunResult:
    run_id: int
    status: str  # ok | partial | skipped | failed
    exit_code: int
    summary: dict[str, Any] = field(default_factory=dict)
    notifications: list[Any] = field(default_factory=list)


def read_partner_central(run: Run, *, sweep_all: bool = False) -> None:
    """The budgeted reading phases: changed opportunities, records to read again, and the sweep (all: --sweep)."""
    poll_opportunities(run)
    if run.baseline:
        run.app.store.set_meta(BASELINE_PENDING, False)
    refetch(run)
    reread_requested(run)  # what events and library calls asked for while another run held the lease
    run.check()
    recheck_deals(run)
    if not run.baseline:
        sweep(run, every=sweep_all)


def _bounded(run: Run, phase: Callable[[], None]) -> None:
    """Run one reading phase; a spent budget ends it cleanly, a failure fails the run, and either way the cycle goes
    on to the next phase and to delivery: what is already queued must not wait for a phase that cannot read."""
    try:
        phase()
    except Deferred as exc:
        if run.limits.stop_requested():
            raise
        run.outcome.defer(str(exc))
    except FatalError as exc:
        run.outcome.fail(str(exc))
    except Exception as exc:  # a bug or an unforeseen answer: the page's transaction rolled back; one line
        log.debug("reading phase failure", exc_info=True)
        run.outcome.fail(f"{type(exc).__name__}: {exc}")


def _phases(run: Run, *, deliver: bool, sweep_all: bool = False, targeted: bool = False) -> Outcome:
    """Poll invitations, read opportunities, deliver; every way this can end becomes the outcome, never an exception."""
    app, outcome = run.app, run.outcome
    try:
        # Reading is bounded, but what is queued still goes out: a long baseline or backlog, or a phase that fails,
        # must not starve delivery. Referrals come first: they are actionable and expire, and in steady state they
        # cost one read a cycle, so no backlog or sweep can spend the read budget before them.
        if targeted:
            _bounded(run, lambda: reread_requested(run, targeted=True))
        else:
            _bounded(run, lambda: poll_invitations(run))
            _bounded(run, lambda: read_partner_central(run, sweep_all=sweep_all))
            _bounded(run, lambda: remind(run))  # on what this cycle stored; confirmed by one read each, so after it
            _bounded(run, lambda: poll_benefits(run))  # funding, when enabled: its own period, cursor and budget
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
              stop_requested: Callable[[], bool] | None = None, sweep_all: bool = False,
              targeted: bool = False) -> RunResult:
    """One complete, bounded cycle. Never raises for API trouble: the result carries the exit code.

    `sweep_all` re-reads every open opportunity's AWS summary, not only those due (`poller run --sweep`).
    `targeted` reads only what EventBridge events and library calls asked for (poller.run.rereads), then delivers;
    before the first baseline it compares nothing (`baseline` in its summary).
    """
    opened = open_run(app, mode, when_held="the request is read by it or the next cycle" if targeted else "skipping",
                      lease_ttl=lease_ttl, stop_requested=stop_requested)
    if isinstance(opened, Skipped):
        return RunResult(run_id=opened.run_id, status="skipped", exit_code=0,
                         summary={"run_id": opened.run_id, "status": "skipped", "message": opened.message})
    with opened as run:
        # A baseline cut short (budget, failure) stays a baseline until its listing completes: the next cycle goes on.
        run.baseline = (run.cursor_before is None and app.store.records.is_empty()) or bool(
            app.store.meta(BASELINE_PENDING))
        if run.baseline and not targeted:
            log.info("first run on an empty database: recording a silent baseline (pending invitations notify)")
            app.store.set_meta(BASELINE_PENDING, True)
        app.begin_run()  # HubSpot is tried afresh, and its 429s are waited out within the time budget
        outcome = _phases(run, deliver=deliver, sweep_all=sweep_all, targeted=targeted)
        fields = run.close()  # closed before the lease goes, so the next run finds it finished
    tally = run.tally
    summary = {"run_id": run.id, "mode": mode, "baseline": run.baseline, "cursor_before": run.cursor_before,
               "notifications": len(tally.notifications), **fields}
    log.info("run %d %s: %d pages, %d changed, %d swept, %d events, %d delivered, %d parked, calls %s, "
             "cursor %s → %s, %d ms", run.id, outcome.status, tally.pages, tally.changed, tally.swept, tally.events,
             outcome.delivered, outcome.parked, fields["api_calls"], run.cursor_before, fields["cursor_after"],
             fields["duration_ms"], extra={"summary": summary})
    return RunResult(run_id=run.id, status=outcome.status, exit_code=1 if outcome.status == "failed" else 0,
                     summary=summary, notifications=tally.notifications)
