"""The reminder phase: invitations about to expire and opportunities left at Action Required, each once.

It runs after the reading phases, so it decides on what this cycle stored; core.reminders decides (pure, with
`now`), the store provides the candidates. Before a reminder is queued the first time, one read confirms that it
still holds (the invitation still PENDING, the opportunity still at Action Required): the listing that would have
told us may have stopped early (a spent budget, an invitation page not walked), and a reminder about something
already done is the one bell a seller must never get.
"""

from __future__ import annotations

import datetime as dt
import logging

from poller.core.errors import MalformedRecord
from poller.core.model import Event, Invitation, Snapshot
from poller.core.plan import plan
from poller.core.reminders import ACTION_REQUIRED, escalations, invitation_reminders
from poller.core.review import canonical_review_status
from poller.core.timefmt import iso
from poller.core.wire import text
from poller.run.context import Run

log = logging.getLogger(__name__)
DECLINED = "reminders_declined"  # meta: {event key: when}: reminders a confirming read found no longer true
DECLINED_KEPT = dt.timedelta(days=14)  # longer than any reminder's key stays due (an invitation's 48 h, a period)


def remind(run: Run) -> None:
    """Queue every reminder due now that was never queued, after confirming it still holds."""
    # Nothing can ring at a baseline by construction, so this needs no baseline test (an account without
    # opportunities stays "at baseline" for good): an invitation first seen inside its window is not reminded, and an
    # opportunity's Action Required clock starts when this job first recorded it.
    app = run.app
    now = app.clock()
    pending = app.store.reminders.pending_invitations()
    invitations = {inv.invitation_id: inv for inv, _seen in pending}
    waiting = {s.opportunity_id: s for s in app.store.reminders.action_required()}
    due = invitation_reminders(pending, now, rules=app.rules) + escalations(waiting.values(), now, rules=app.rules)
    known = app.store.reminders.known([e.key for e in due])
    # A reminder a confirming read declined is not read again while its key stays due (an opportunity that vanished
    # at Action Required would otherwise cost a read every cycle); the next period's key is confirmed afresh.
    declined: dict[str, str] = app.store.meta(DECLINED) or {}
    fresh = [e for e in due if e.key not in known and e.key not in declined]
    if not fresh:
        return
    afford = app.reads.affordable(len(fresh))  # one confirming read each; the rest wait for the next cycle
    confirmed: list[Event] = []
    contexts: dict[str, Snapshot | Invitation] = {}
    now_iso = iso(now)
    for event in fresh[:afford]:
        context = invitations.get(event.subject_id) or waiting.get(event.subject_id)
        holds = None if context is None else _still_holds(run, event, context)
        if holds and context is not None:
            confirmed.append(event)
            contexts[event.subject_id] = context
        elif holds is False:
            declined[event.key] = now_iso
    cutoff = iso(now - DECLINED_KEPT)
    with app.store.atomic():
        app.store.set_meta(DECLINED, {k: at for k, at in declined.items() if at >= cutoff})
        new_keys = app.store.outbox.record_events(confirmed, detected_at=now_iso, source="reminders", run_id=run.id)
        notifications = plan([e for e in confirmed if e.key in new_keys], contexts, now, rules=app.rules)
        app.store.outbox.enqueue(notifications, now_iso, sinks=app.sink_names)
    run.tally.events += len(new_keys)
    run.tally.notifications.extend(notifications)
    if afford < len(fresh):
        raise app.reads.spent()


def _still_holds(run: Run, event: Event, context: Snapshot | Invitation) -> bool | None:
    """One read: is the invitation still PENDING, the opportunity still at Action Required (None: unreadable now,
    asked again next cycle)? Records what it learns about an invitation (the listing may never walk back to it); an
    opportunity's change comes with the listing."""
    app = run.app
    try:
        if isinstance(context, Invitation):
            answer = app.pc.get_invitation(context.invitation_id)
            status = text((answer or {}).get("Status"))
            if status is not None and status.upper() != "PENDING":
                log.info("invitation %s is %s now: no expiry reminder", context.invitation_id, status)
                app.store.records.save_invitation(Invitation.from_dict({**context.to_dict(), "status": status}),
                                                  iso(app.clock()))
            return status is not None and status.upper() == "PENDING"
        answer = app.pc.get_opportunity(context.opportunity_id)
        life = (answer or {}).get("LifeCycle")
        status = canonical_review_status(text(life.get("ReviewStatus")) if isinstance(life, dict) else None)
        if status != ACTION_REQUIRED:
            log.info("opportunity %s left Action Required (%s): no escalation", context.opportunity_id, status)
        return status == ACTION_REQUIRED
    except MalformedRecord as exc:  # unreadable now: the reminder waits for the next cycle
        run.tally.skip_error(exc, event.subject_id)
        return None
