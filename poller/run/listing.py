"""The listing phases: opportunities changed since the cursor (minus the lookback), then the records to read again."""

from __future__ import annotations

import datetime as dt
import logging

from poller.app import App
from poller.budget.reads import READS_PER_RECORD
from poller.core.cursor import cursor_cap
from poller.core.timefmt import iso, parse_iso
from poller.run.commit import commit_page
from poller.run.context import CURSOR, Run
from poller.run.pages import fetch_details, ingest_listed_page

log = logging.getLogger(__name__)


def listing_since(app: App, name: str, now: dt.datetime) -> str | None:
    """The `AfterLastModifiedDate` of the next listing; None lists everything (no cursor yet).

    A cursor beyond `now` + skew can only have been left by a record dated in the future (before the cap existed):
    it is pulled back to the newest stored LastModifiedDate within the cap, so later changes are seen again.
    """
    cursor = app.store.cursor(name)
    cap = cursor_cap(now)
    if cursor is not None and cursor > cap:
        sane = app.store.records.newest_last_modified(cap)
        log.warning("cursor %s is %s, in the future (a record dated in the future moved it there); pulling it back "
                    "to %s", name, cursor, sane)
        app.store.set_cursor(name, sane, iso(now))
        cursor = sane
    return None if cursor is None else iso(parse_iso(cursor) - dt.timedelta(seconds=app.settings.lookback))


def poll_opportunities(run: Run) -> None:
    """List opportunities modified since cursor − lookback, page by page; each page commits on its own."""
    app = run.app
    listed_at = app.clock()  # the listing's request time: the cursor never passes it by more than the skew
    since = listing_since(app, CURSOR, listed_at)
    # Records a baseline had to skip stay silent when the listing brings them back.
    silent = frozenset(oid for oid, was_baseline in app.store.records.refetch_queue() if was_baseline)
    for page in app.pc.list_opportunities(since):
        ingest_listed_page(run, page, baseline=run.baseline, source="cycle", cursor_name=CURSOR, silent_ids=silent,
                           listed_at=listed_at)
        run.check()


def refetch(run: Run) -> None:
    """Read again the records earlier cycles had to skip; one skipped during the baseline stays silent."""
    app, tally = run.app, run.tally
    # A record that failed moments ago in this cycle waits for the next one rather than being read twice.
    queue = [(oid, was_baseline) for oid, was_baseline in app.store.records.refetch_queue() if oid not in tally.read]
    for silent in (True, False):
        ids = [oid for oid, was_baseline in queue if (was_baseline or run.baseline) == silent]
        afford = app.reads.affordable(len(ids), READS_PER_RECORD)  # the rest stays queued for the next cycle
        ids, unaffordable = ids[:afford], afford < len(ids)
        if not ids and not unaffordable:
            continue
        stored = app.store.records.opportunities(ids)
        fetched = fetch_details(run, ids, stored, baseline=silent)
        tally.changed += len(fetched)
        commit_page(run, fetched, baseline=silent, source="cycle", stored=stored)
        if unaffordable:
            raise app.reads.spent()
