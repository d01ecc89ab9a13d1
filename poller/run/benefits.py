"""The funding pass (Partner Central Benefits): decisions on opportunities' benefit applications, expiring allocations.

Off unless `benefits` is enabled. It has its own period (`benefits_period`: the list has no time filter, so a
pass reads every application, 1 read per 100), its own read budget (`benefits_daily_budget`, counted as host
`partner_central_benefits`), its own cursor (`benefits`: the largest AWS UpdatedAt committed, shown by
`poller state cursors`) and its own silent baseline: the first pass records what it finds and notifies nobody.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from poller.core.errors import MalformedRecord
from poller.core.funding import (
    BenefitAllocation,
    BenefitApplication,
    allocation_from,
    application_from,
    decision_events,
    expiring,
    inside_window,
    needs_reason,
)
from poller.core.model import Event, Snapshot
from poller.core.plan import plan
from poller.core.timefmt import iso, parse_iso
from poller.core.wire import text, unreadable
from poller.run.context import Run
from poller.run.pages import normalized

log = logging.getLogger(__name__)
CURSOR = "benefits"  # the largest AWS UpdatedAt of an application committed
LAST_PASS = "benefits_last_pass"  # meta: when the last complete funding pass ended
BASELINE_DONE = "benefits_baseline_done"  # meta: the first (silent) funding pass completed


def poll_benefits(run: Run) -> None:
    """One funding pass when it is due: applications page by page, then the ACTIVE allocations."""
    app = run.app
    if app.benefits is None:
        return
    now = app.clock()
    last = app.store.meta(LAST_PASS)
    if last and now - parse_iso(last) < dt.timedelta(seconds=app.settings.benefits_period):
        return
    baseline = not app.store.meta(BASELINE_DONE)  # funding's own: it may be enabled long after the first run
    if baseline:
        log.info("first funding pass: recording benefit applications and allocations silently")
    for page in app.benefits.list_applications():
        _applications(run, page, now, baseline=baseline)
        run.check()
    _allocations(run, now, baseline=baseline)
    app.store.set_meta(LAST_PASS, iso(now))
    app.store.set_meta(BASELINE_DONE, True)


def _read(run: Run, page: Sequence[dict[str, Any]], build: Any) -> list[Any]:
    """The page's items normalized; an unreadable one is named in the run and read again next pass."""
    found = []
    for item in page:
        broken = unreadable(item)
        try:
            if broken is not None:
                raise MalformedRecord(broken.name, broken.reason)
            found.append(normalized(text(item.get("Id")) or "(no Id)", build, item))
        except MalformedRecord as exc:
            run.tally.skip_error(exc)
    return found


def _deals(run: Run, opportunity_ids: set[str]) -> tuple[dict[str, str | None], dict[str, Snapshot]]:
    stored = run.app.store.records.opportunities(sorted(opportunity_ids))
    return ({oid: s.snapshot.deal_id for oid, s in stored.items()},
            {oid: s.snapshot for oid, s in stored.items()})


def _applications(run: Run, page: Sequence[dict[str, Any]], now: dt.datetime, *, baseline: bool) -> None:
    app = run.app
    assert app.benefits is not None
    items = {text(item.get("Id")): item for item in page}
    read: list[BenefitApplication] = _read(run, page, application_from)
    stored = app.store.benefits.applications([a.application_id for a in read])
    changed = {a.application_id: a for a in read if (old := stored.get(a.application_id)) is None
               or (old.status, old.updated_at, old.opportunity_ids) != (a.status, a.updated_at, a.opportunity_ids)}
    reasons = [a for a in changed.values()
               if not baseline and a.opportunity_ids and needs_reason(stored.get(a.application_id), a)]
    if app.benefit_reads.affordable(len(reasons)) < len(reasons):
        raise app.benefit_reads.spent()  # nothing of the page is committed: the next pass reads it again
    for application in reasons:  # AWS's reason is only in GetBenefitApplication: a decision is worth the read
        rid = application.application_id
        try:
            changed[rid] = normalized(rid, application_from, items[rid], app.benefits.get_application(rid))
        except MalformedRecord as exc:  # the decision is still announced, without AWS's reason
            run.tally.skip_error(exc, rid)
    deals, contexts = _deals(run, {oid for a in changed.values() for oid in a.opportunity_ids})
    events: list[Event] = [] if baseline else [
        e for a in changed.values()
        for e in decision_events(stored.get(a.application_id), a, deals, now, rules=app.rules)]

    def save(now_iso: str) -> None:
        for application in changed.values():
            app.store.benefits.save_application(application, now_iso)

    _commit(run, events, contexts, now, save=save, cursor=max((a.updated_at for a in read if a.updated_at), default=None))


def _allocations(run: Run, now: dt.datetime, *, baseline: bool) -> None:
    app = run.app
    assert app.benefits is not None
    listed: list[BenefitAllocation] = []
    for page in app.benefits.list_allocations():
        listed.extend(_read(run, page, allocation_from))
        run.check()
    applications = app.store.benefits.applications([a.application_id for a in listed if a.application_id])
    silent_before = {a.allocation_id: silent for a, silent in app.store.benefits.allocations()}
    # An allocation the baseline found already inside its window stays silent, as everything the baseline found.
    silent = {a.allocation_id: silent_before.get(a.allocation_id, baseline and inside_window(a, now, app.rules))
              for a in listed}
    deals, contexts = _deals(run, {oid for a in applications.values() for oid in a.opportunity_ids})
    events = [] if baseline else expiring(
        ((a, applications.get(a.application_id or ""), silent[a.allocation_id]) for a in listed), now, deals,
        rules=app.rules)

    def save(now_iso: str) -> None:
        for allocation in listed:
            app.store.benefits.save_allocation(allocation, now_iso, silent=silent[allocation.allocation_id])

    _commit(run, events, contexts, now, save=save)


def _commit(run: Run, events: list[Event], contexts: dict[str, Snapshot], now: dt.datetime, *,
            save: Callable[[str], None], cursor: str | None = None) -> None:
    """Records, events, outbox rows and the cursor in one transaction."""
    app = run.app
    now_iso = iso(now)
    with app.store.atomic():
        save(now_iso)
        new_keys = app.store.outbox.record_events(events, detected_at=now_iso, source="benefits", run_id=run.id)
        notifications = plan([e for e in events if e.key in new_keys], contexts, now, rules=app.rules)
        app.store.outbox.enqueue(notifications, now_iso, sinks=app.sink_names)
        if cursor is not None:
            app.store.advance_cursor(CURSOR, cursor, now_iso)
    run.tally.events += len(new_keys)
    run.tally.notifications.extend(notifications)
