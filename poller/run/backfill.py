"""Backfill: re-derive a past window's events from stored snapshot history and a fresh re-list; the cursor stays.

Two sources, in this order (poller.run.replay):

1. **History replay** (no API calls): each distinct snapshot recorded inside the window is diffed against the
   one stored before it. A baseline snapshot yields nothing (backfill never notifies about what the baseline
   recorded as already true); the snapshots after it do.
2. **Re-list**: `ListOpportunities` over the window (After/BeforeLastModifiedDate); every opportunity whose
   LastModifiedDate differs from the stored one is read and committed exactly as a cycle does (same
   `fetch_details` + `derive_and_commit`, source "backfill"), one transaction per page. The main cursor never
   moves; the window's own checkpoint (`backfill:<since>:<until>` in `cursors`) does, so an interrupted backfill
   resumes where it stopped. It is deleted when the backfill completes, so a rerun replays the whole window.

Event keys make every event idempotent: whatever a cycle, an earlier backfill or this one already recorded is
counted as "already known" and never reaches the outbox twice. A dry run does all of this on an in-memory copy
of the database, so it writes nothing (the API calls it makes still count against the persisted budgets).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from poller.app import App
from poller.core.model import Notification
from poller.errors import Deferred, FatalError, UsageError
from poller.run.context import CURSOR, Skipped, open_run
from poller.run.replay import relist, replay_history
from poller.run.window import Progress, Window

log = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class BackfillResult:
    status: str  # ok | partial | skipped | failed
    exit_code: int
    dry_run: bool
    summary: dict[str, Any] = field(default_factory=dict)
    notifications: list[Notification] = field(default_factory=list)


def backfill(app: App, window: Window, *, dry_run: bool = False, progress: Callable[[Progress], None] | None = None,
             stop_requested: Callable[[], bool] | None = None, lease_ttl: float | None = None) -> BackfillResult:
    """Re-derive the window's events; queue (and, with HubSpot configured, deliver) only those never seen before."""
    if app.store.cursor(CURSOR) is None and app.store.records.is_empty():
        raise UsageError("the state database has no baseline yet: run `poller run` once first "
                         "(the first run records what is already true without notifying anyone)")
    target = _scratch_copy(app) if dry_run else app
    # With a progress display (a terminal) the caller prints the outcome; otherwise it is logged, page by page.
    return _run(target, window, dry_run=dry_run, progress=progress or _log_progress, stop_requested=stop_requested,
                lease_ttl=lease_ttl, log_summary=progress is None)


def _run(app: App, window: Window, *, dry_run: bool, progress: Callable[[Progress], None],
         stop_requested: Callable[[], bool] | None, lease_ttl: float | None, log_summary: bool) -> BackfillResult:
    mode = "backfill-dry-run" if dry_run else "backfill"
    opened = open_run(app, mode, lease_ttl=lease_ttl, stop_requested=stop_requested,
                      when_held="the backfill did not start: run it again when that run has finished")
    if isinstance(opened, Skipped):
        return BackfillResult(status="skipped", exit_code=0, dry_run=dry_run,
                              summary={"run_id": opened.run_id, "status": "skipped", "message": opened.message})
    # The lease is renewed before every API request (a dry run's copy: nobody else can see it anyway).
    with opened as run:
        outcome, tally = run.outcome, run.tally
        resumed_from = app.store.cursor(window.checkpoint)
        if resumed_from:
            log.info("resuming the re-list of %s … %s from its checkpoint %s", window.since, window.until,
                     resumed_from)
        replayed = 0
        try:
            replayed = replay_history(run, window, progress=progress)
            relist(run, window, progress=progress, start=resumed_from)
            app.store.forget_cursor(window.checkpoint)  # done: a rerun starts over
            if not dry_run and app.sinks and app.settings.deliver:
                delivery = app.deliver()
                outcome.delivered, outcome.parked = delivery.delivered, delivery.parked
                if delivery.deferred:
                    outcome.status, outcome.deferred = "partial", delivery.deferred
        except Deferred as exc:
            outcome.status, outcome.deferred = "partial", f"{exc}; run the same command again to continue"
            log.info("backfill stopped cleanly: %s", outcome.deferred)
        except FatalError as exc:
            outcome.status, outcome.error = "failed", str(exc)
            log.error("backfill failed: %s", exc)
        except KeyboardInterrupt:
            outcome.status, outcome.deferred = "partial", "interrupted; run the same command again to continue"
            raise
        except Exception as exc:  # the page transaction rolled back; say so in one line
            outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
            log.error("backfill failed: %s", outcome.error)
            log.debug("backfill failure", exc_info=True)
        finally:
            checkpoint_after = app.store.cursor(window.checkpoint)
            fields = run.close(cycle=False)
    status = outcome.status
    summary = {
        "run_id": None if dry_run else run.id, "mode": mode, "since": window.since, "until": window.until,
        "found": tally.derived, "new": tally.events, "known": tally.derived - tally.events,
        "history_replayed": replayed, "pages": tally.pages, "opportunities_reread": tally.changed,
        "queued": 0 if dry_run or (app.sinks and app.settings.deliver) else len(tally.notifications),
        "checkpoint": window.checkpoint, "resumed_from": resumed_from, "checkpoint_after": checkpoint_after,
        **{k: fields[k] for k in ("status", "delivered", "parked", "deferred", "error", "skipped_ids", "api_calls",
                                  "duration_ms", "cursor_after")},
        "cursor_before": run.cursor_before,
    }
    (log.info if log_summary else log.debug)(
        "backfill %s: %d events found, %d new, %d already known; %d snapshots replayed, %d pages, %d re-read, "
        "%d delivered, %d parked", status, tally.derived, tally.events, tally.derived - tally.events, replayed,
        tally.pages, tally.changed, outcome.delivered, outcome.parked)
    return BackfillResult(status=status, exit_code=1 if status == "failed" else 0, dry_run=dry_run, summary=summary,
                          notifications=tally.notifications)


def _log_progress(p: Progress) -> None:
    if p.phase == "history":
        log.info("history: %d of %d snapshots replayed; %d events found, %d new", p.done, p.total or 0, p.found, p.new)
    else:
        log.info("re-list: page %d committed; %d events found, %d new", p.done, p.found, p.new)


def _scratch_copy(app: App) -> App:
    """The same app over an in-memory copy of its database: a dry run goes through every step and writes nothing.

    Partner Central and HubSpot calls still count against the real, persisted budgets (the adapters hold the
    original store), because those calls were really made.
    """
    return dataclasses.replace(app, store=app.store.scratch_copy(), lease=None)
