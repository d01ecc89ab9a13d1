"""Backfill: re-derive a past window's events from stored snapshot history and a fresh re-list; the cursor stays.

Two sources, in this order:

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
import datetime as dt
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from poller.app import App
from poller.budget.limits import Limits
from poller.clock import monotonic
from poller.core.carry import carry_forward
from poller.core.diff import diff
from poller.core.model import Event, Notification, Snapshot
from poller.core.plan import plan
from poller.core.timefmt import iso, parse_iso
from poller.cycle import CURSOR
from poller.errors import Deferred, FatalError, UsageError
from poller.ingest import RunTally, ingest_listed_page
from poller.store.lease import Lease, takeover_grace

log = logging.getLogger(__name__)
DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
HISTORY_CHUNK = 100  # snapshots replayed per transaction


def parse_moment(text: str, *, end_of_day: bool = False) -> dt.datetime:
    """`YYYY-MM-DD` (a UTC day: its start, or with end_of_day its last microsecond) or full ISO 8601."""
    if DATE_ONLY.match(text):
        day = dt.datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=dt.UTC)
        return day + dt.timedelta(days=1, microseconds=-1) if end_of_day else day
    if "T" not in text.upper() and " " not in text.strip():
        raise ValueError(f"{text!r} is neither YYYY-MM-DD nor ISO 8601 (2026-03-01T09:30:00Z)")
    try:
        return parse_iso(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither YYYY-MM-DD nor ISO 8601 (2026-03-01T09:30:00Z)") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    since: str  # canonical ISO (timefmt.iso); both bounds inclusive
    until: str
    checkpoint: str  # the cursor name of this window's re-list checkpoint

    @classmethod
    def parse(cls, since: str, until: str | None, now: dt.datetime) -> Window:
        """The window from the operator's text; `until` defaults to now (and is capped at now)."""
        start = parse_moment(since)
        end = min(parse_moment(until, end_of_day=True), now) if until else now
        if start >= now:
            raise ValueError(f"--since {since} is not in the past")
        if start > end:
            raise ValueError(f"--since {since} is after --until {until}")
        # The name keeps "now" for an open window, so rerunning the same command finds the same checkpoint.
        return cls(since=iso(start), until=iso(end), checkpoint=f"backfill:{iso(start)}:{iso(end) if until else 'now'}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Reported after each committed chunk of history and each re-listed page."""

    phase: str  # history | relist
    done: int  # snapshots replayed, or pages listed
    total: int | None  # snapshots to replay; None for the re-list (ListOpportunities has no count)
    found: int
    new: int


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
    started = monotonic()
    now = app.clock()
    mode = "backfill-dry-run" if dry_run else "backfill"
    lease = Lease(app.store.db, ttl=takeover_grace(app.settings.http_timeout) if lease_ttl is None
                  else dt.timedelta(seconds=lease_ttl))
    holder = lease.acquire(now)
    if holder is not None:
        message = (f"another run holds the lease ({holder.holder}, until {holder.expires_at}); "
                   "the backfill did not start: run it again when that run has finished")
        run_id = app.store.runs.record_skip(mode, iso(now), message)
        log.info("%s", message)
        return BackfillResult(status="skipped", exit_code=0, dry_run=dry_run,
                              summary={"run_id": run_id, "status": "skipped", "message": message})
    app.api_calls.clear()
    app.lease = lease  # renewed before every API request (a dry run's copy: nobody else can see it anyway)
    cursor_before = app.store.cursor(CURSOR)
    run_id = app.store.runs.start(mode, iso(now), cursor_before)
    resumed_from = app.store.cursor(window.checkpoint)
    if resumed_from:
        log.info("resuming the re-list of %s … %s from its checkpoint %s", window.since, window.until, resumed_from)
    tally = RunTally()
    limits = app.limits(started, stop_requested)
    status, error, deferred, delivered, parked, replayed = "ok", None, None, 0, 0, 0
    try:
        replayed = replay_history(app, window, run_id=run_id, tally=tally, limits=limits, lease=lease,
                                  progress=progress)
        relist(app, window, run_id=run_id, tally=tally, limits=limits, lease=lease, progress=progress,
               start=resumed_from)
        app.store.db.execute("DELETE FROM cursors WHERE name = ?", [window.checkpoint])  # done: a rerun starts over
        if not dry_run and app.sinks and app.settings.deliver:
            outcome = app.deliver()
            delivered, parked = outcome.delivered, outcome.parked
            if outcome.deferred:
                status, deferred = "partial", outcome.deferred
    except Deferred as exc:
        status, deferred = "partial", f"{exc}; run the same command again to continue"
        log.info("backfill stopped cleanly: %s", deferred)
    except FatalError as exc:
        status, error = "failed", str(exc)
        log.error("backfill failed: %s", exc)
    except KeyboardInterrupt:
        status, deferred = "partial", "interrupted; run the same command again to continue"
        raise
    except Exception as exc:  # the page transaction rolled back; say so in one line
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        log.error("backfill failed: %s", error)
        log.debug("backfill failure", exc_info=True)
    finally:
        app.lease = None
        lease.release()
        checkpoint_after = app.store.cursor(window.checkpoint)
        fields = dict(status=status, finished_at=iso(app.clock()), duration_ms=int((monotonic() - started) * 1000),
                      cursor_after=app.store.cursor(CURSOR), pages=tally.pages, opportunities_changed=tally.changed,
                      events=tally.events, delivered=delivered, parked=parked, skipped_ids=tally.skipped,
                      deferred=deferred, api_calls=dict(app.api_calls), error=error)
        app.store.runs.update(run_id, **fields)
    summary = {
        "run_id": None if dry_run else run_id, "mode": mode, "since": window.since, "until": window.until,
        "found": tally.derived, "new": tally.events, "known": tally.derived - tally.events,
        "history_replayed": replayed, "pages": tally.pages, "opportunities_reread": tally.changed,
        "queued": 0 if dry_run or (app.sinks and app.settings.deliver) else len(tally.notifications),
        "checkpoint": window.checkpoint, "resumed_from": resumed_from, "checkpoint_after": checkpoint_after,
        **{k: fields[k] for k in ("status", "delivered", "parked", "deferred", "error", "skipped_ids", "api_calls",
                                  "duration_ms", "cursor_after")},
        "cursor_before": cursor_before,
    }
    (log.info if log_summary else log.debug)("backfill %s: %d events found, %d new, %d already known; %d snapshots replayed, %d pages, "
             "%d re-read, %d delivered, %d parked", status, tally.derived, tally.events, tally.derived - tally.events,
             replayed, tally.pages, tally.changed, delivered, parked)
    return BackfillResult(status=status, exit_code=1 if status == "failed" else 0, dry_run=dry_run, summary=summary,
                          notifications=tally.notifications)


# --- 1. history replay


def replay_history(app: App, window: Window, *, run_id: int, tally: RunTally, limits: Limits, lease: Lease | None,
                   progress: Callable[[Progress], None]) -> int:
    """Diff consecutive stored snapshots recorded inside the window; returns how many snapshots were replayed."""
    total = app.store.db.execute(
        "SELECT count(*) FROM snapshot_history WHERE observed_at BETWEEN ? AND ? AND baseline = 0",
        [window.since, window.until]).fetchone()[0]
    done = 0
    pairs = _pairs(app.store.records.history(window.since, window.until), window)
    while chunk := list(itertools.islice(pairs, HISTORY_CHUNK)):
        now = app.clock()
        with app.store.atomic():
            for old, new, row in chunk:
                _replay_one(app, old, new, row, now, run_id=run_id, tally=tally)
        done += len(chunk)
        progress(Progress(phase="history", done=done, total=total, found=tally.derived, new=tally.events))
        limits.check(lease)
    return done


def _pairs(rows: Iterator[dict[str, Any]], window: Window) -> Iterator[tuple[Snapshot | None, Snapshot, dict[str, Any]]]:
    """(previous snapshot, snapshot, its history row) for every non-baseline row observed inside the window."""
    for _oid, group in itertools.groupby(rows, key=lambda r: r["opportunity_id"]):
        previous: Snapshot | None = None
        for row in group:
            # History written before "unknown is not a change" may hold a vanished value: replay it as a cycle would.
            snapshot = carry_forward(previous, Snapshot.from_dict(json.loads(row["snapshot"])))
            if not row["baseline"] and window.since <= row["observed_at"] <= window.until:
                yield previous, snapshot, row
            previous = snapshot


def _replay_one(app: App, old: Snapshot | None, new: Snapshot, row: dict[str, Any], now: dt.datetime, *,
                run_id: int, tally: RunTally) -> None:
    # What the run that recorded this snapshot raised for it. One transition yields at most one event per kind, so a
    # kind that run raised is already handled, even when context it had (a conflict with the deal) worded it
    # differently.
    handled: set[str] = set()
    if row["run_id"] is not None:
        handled.update(kind for (kind,) in app.store.db.execute(
            "SELECT kind FROM events WHERE subject_id = ? AND run_id = ?", [new.opportunity_id, row["run_id"]]))
    referral_notified = old is not None or app.store.records.referral_notified(new.title)
    events = diff(old, new, parse_iso(row["observed_at"]), rules=app.rules, aws_revision=row["aws_revision"],
                  referral_notified=referral_notified)
    tally.derived += len(events)
    candidates: list[Event] = [e for e in events if e.kind not in handled]
    now_iso = iso(now)
    fresh = app.store.outbox.record_events(candidates, detected_at=now_iso, source="backfill", run_id=run_id)
    notifications = plan([e for e in candidates if e.key in fresh], {new.opportunity_id: new}, now, rules=app.rules)
    app.store.outbox.enqueue(notifications, now_iso)
    tally.events += len(fresh)
    tally.notifications.extend(notifications)


# --- 2. re-list


def relist(app: App, window: Window, *, run_id: int, tally: RunTally, limits: Limits, lease: Lease | None,
           progress: Callable[[Progress], None], start: str | None) -> None:
    """List the window again, page by page; read and commit what changed; advance only the window's checkpoint."""
    since = max(window.since, start) if start else window.since
    pages = 0
    for page in app.pc.list_opportunities(since, window.until):
        pages += 1
        ingest_listed_page(app, page, run_id=run_id, baseline=False, source="backfill", tally=tally,
                           cursor_name=window.checkpoint, since=window.since, until=window.until)
        progress(Progress(phase="relist", done=pages, total=None, found=tally.derived, new=tally.events))
        limits.check(lease)


# --- helpers


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
