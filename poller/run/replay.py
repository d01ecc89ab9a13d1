"""The backfill's two sources: the snapshot history stored inside its window, replayed, and the window re-listed."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from poller.core.carry import carry_forward
from poller.core.diff import diff
from poller.core.model import Event, Snapshot
from poller.core.plan import plan
from poller.core.timefmt import iso, parse_iso
from poller.run.context import Run
from poller.run.pages import ingest_listed_page
from poller.run.window import Progress, Window

HISTORY_CHUNK = 100  # snapshots replayed per transaction


def replay_history(run: Run, window: Window, *, progress: Callable[[Progress], None]) -> int:
    """Diff consecutive stored snapshots recorded inside the window; returns how many snapshots were replayed."""
    app, tally = run.app, run.tally
    total = app.store.records.history_count(window.since, window.until)
    done = 0
    pairs = _pairs(app.store.records.history(window.since, window.until), window)
    while chunk := list(itertools.islice(pairs, HISTORY_CHUNK)):
        now = app.clock()
        with app.store.atomic():
            for old, new, row in chunk:
                _replay_one(run, old, new, row, now)
        done += len(chunk)
        progress(Progress(phase="history", done=done, total=total, found=tally.derived, new=tally.events))
        run.check()
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


def _replay_one(run: Run, old: Snapshot | None, new: Snapshot, row: dict[str, Any], now: dt.datetime) -> None:
    app, tally = run.app, run.tally
    # What the run that recorded this snapshot raised for it. One transition yields at most one event per kind, so a
    # kind that run raised is already handled, even when context it had (a conflict with the deal) worded it
    # differently.
    handled: set[str] = set()
    if row["run_id"] is not None:
        handled.update(app.store.outbox.kinds_recorded(new.opportunity_id, row["run_id"]))
    referral_notified = old is not None or app.store.records.referral_notified(new.title)
    events = diff(old, new, parse_iso(row["observed_at"]), rules=app.rules, aws_revision=row["aws_revision"],
                  referral_notified=referral_notified)
    tally.derived += len(events)
    candidates: list[Event] = [e for e in events if e.kind not in handled]
    now_iso = iso(now)
    fresh = app.store.outbox.record_events(candidates, detected_at=now_iso, source="backfill", run_id=run.id)
    notifications = plan([e for e in candidates if e.key in fresh], {new.opportunity_id: new}, now, rules=app.rules)
    app.store.outbox.enqueue(notifications, now_iso, sinks=app.sink_routes)
    tally.events += len(fresh)
    tally.notifications.extend(notifications)


def relist(run: Run, window: Window, *, progress: Callable[[Progress], None], start: str | None) -> None:
    """List the window again, page by page; read and commit what changed; advance only the window's checkpoint."""
    since = max(window.since, start) if start else window.since
    pages = 0
    for page in run.app.pc.list_opportunities(since, window.until):
        pages += 1
        ingest_listed_page(run, page, baseline=False, source="backfill", cursor_name=window.checkpoint,
                           since=window.since, until=window.until)
        progress(Progress(phase="relist", done=pages, total=None, found=run.tally.derived, new=run.tally.events))
        run.check()
