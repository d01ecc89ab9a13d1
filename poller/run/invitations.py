"""The invitation poll: AWS referrals arrive as engagement invitations, read every cycle, newest first."""

from __future__ import annotations

import logging
from typing import Any

from poller.app import App
from poller.core.errors import MalformedRecord
from poller.core.invitations import invitation_events
from poller.core.model import Invitation
from poller.core.normalize import invitation_from
from poller.core.plan import plan
from poller.core.timefmt import iso
from poller.core.wire import text, unreadable
from poller.run.context import Run, RunTally
from poller.run.pages import normalized

log = logging.getLogger(__name__)
UNFINISHED = "invitations_unfinished"  # meta key: a listing stopped before its end; walk every page next time


def poll_invitations(run: Run) -> None:
    """Read pages until one holds nothing new; each page commits on its own. 1 call when nothing changed.

    Only a new PENDING invitation costs a GetEngagementInvitation read (it is the only kind that notifies); the
    others are recorded from the list summary. Like the other reading phases it stops at a page boundary once
    the run's budget is spent, and the next cycle walks on past the pages it already knows.
    """
    app, tally = run.app, run.tally
    walk_all = bool(app.store.meta(UNFINISHED))
    skipped = False  # a skipped invitation is read again by walking every page next cycle (it has no refetch)
    for page in app.pc.list_invitations():
        ids = [iid for item in page if (iid := text(item.get("Id"))) and unreadable(item) is None]
        known = app.store.records.invitations(ids)
        fresh: list[tuple[Invitation | None, Invitation]] = []
        reads_left = app.reads.room()  # what the read budget affords: the rest waits for a walk of every page
        unaffordable = False
        for item in page:
            if _needs_detail(item, known):
                if reads_left <= 0:
                    unaffordable = skipped = True  # not recorded: new again when the next cycle walks every page
                    continue
                reads_left -= 1
            try:
                new = _read(app, item, known)
            except MalformedRecord as exc:
                tally.skip_error(exc)
                skipped = True
                continue
            if new is not None:
                fresh.append(new)
        if fresh:
            _commit(app, fresh, run_id=run.id, baseline=run.baseline, tally=tally)
        elif not walk_all and not skipped:
            break  # the list is newest first: a page with nothing new means the rest is known too
        if unaffordable:  # the budget left some unread: walk every page until they are read
            app.store.set_meta(UNFINISHED, True)
            raise app.reads.spent()
        if not walk_all:  # until the listing ends, so a stop here can't hide older pages
            app.store.set_meta(UNFINISHED, True)
            walk_all = True
        run.check()
    if walk_all:  # an idle cycle (one page, nothing new) writes nothing
        app.store.set_meta(UNFINISHED, skipped)


def _needs_detail(item: dict[str, Any], known: dict[str, Invitation]) -> bool:
    """A new PENDING invitation costs a GetEngagementInvitation read; every other one is read from its listing."""
    iid = text(item.get("Id"))
    return (iid is not None and iid not in known and unreadable(item) is None
            and str(item.get("Status") or "").strip().upper() == "PENDING")


def _read(app: App, item: dict[str, Any], known: dict[str, Invitation]) -> tuple[Invitation | None, Invitation] | None:
    """(stored, new) for an invitation that is new or changed status, None for a known one; MalformedRecord names
    one that cannot be read (the listing item, its detail, or its values)."""
    broken = unreadable(item)
    if broken is not None:
        raise MalformedRecord(broken.name, broken.reason)
    iid = text(item.get("Id"))
    if iid is None:
        raise MalformedRecord("(invitation without Id)", "no Id")
    old = known.get(iid)
    if old is not None and old.status == item.get("Status"):
        return None
    detail = app.pc.get_invitation(iid) if _needs_detail(item, known) else None
    new = normalized(iid, invitation_from, item, detail, catalog=app.settings.catalog)
    if old is not None:  # keep the details we read when it was new
        new = Invitation.from_dict({**old.to_dict(), "status": new.status})
    return old, new


def _commit(app: App, fresh: list[tuple[Invitation | None, Invitation]], *, run_id: int, baseline: bool,
            tally: RunTally) -> None:
    now = app.clock()
    now_iso = iso(now)
    events = {new.invitation_id: invitation_events(old, new, now, rules=app.rules, baseline=baseline)
              for old, new in fresh}
    all_events = [e for evs in events.values() for e in evs]
    with app.store.atomic():
        new_keys = app.store.outbox.record_events(all_events, detected_at=now_iso, source="invitations", run_id=run_id)
        for _old, new in fresh:
            notified = next((e.key for e in events[new.invitation_id]), None)
            app.store.records.save_invitation(new, now_iso, notified_event_key=notified)
        notifications = plan([e for e in all_events if e.key in new_keys],
                             {new.invitation_id: new for _old, new in fresh}, now, rules=app.rules)
        app.store.outbox.enqueue(notifications, now_iso, sinks=app.sink_routes)
    tally.events += len(new_keys)
    tally.notifications.extend(notifications)
