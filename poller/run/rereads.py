"""The re-read phase: what EventBridge events and library calls named is read now, then each call's claim is decided.

Opportunities go through the refetch queue (GetOpportunity + GetAwsOpportunitySummary, diffed and committed like any
page), invitations through GetEngagementInvitation, engagement events through the listing. Polling stays the source of
truth: a request that cannot be read now is dropped (the cycles read it anyway), so a lost or failed event costs
latency, never a notification; a duplicate finds nothing changed and sends nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

from poller.core.claims import CLAIM_WINDOW, Claim, NotNotified, claim_event
from poller.core.errors import MalformedRecord
from poller.core.model import Invitation, Snapshot
from poller.core.normalize import invitation_from
from poller.core.plan import plan
from poller.core.timefmt import iso
from poller.errors import BudgetExhausted, FatalError, PollerError
from poller.run.context import Run
from poller.run.invitations import _commit as commit_invitations
from poller.run.listing import poll_opportunities, refetch
from poller.run.pages import normalized
from poller.store.rereads import CLAIM_SOURCE, Reread

log = logging.getLogger(__name__)
ROUNDS = 3  # a targeted run also takes requests that arrive while it reads (events come in bursts), a few times


def reread_requested(run: Run, *, targeted: bool = False) -> None:
    """Read what was asked for, then decide the claims. In a cycle once (its listing already ran); in a targeted run
    (`targeted`) also the listing engagement events ask for, and requests that arrive meanwhile."""
    app = run.app
    if app.store.rereads.empty():
        return
    app.store.rereads.forget_decided(iso(app.clock() - CLAIM_WINDOW))
    seen: set[int] = set()
    for _ in range(ROUNDS if targeted else 1):
        requests = [r for r in app.store.rereads.pending() if r.id not in seen]
        if not requests:
            return
        seen.update(r.id for r in requests)
        _round(run, requests, targeted=targeted)


def _round(run: Run, requests: Sequence[Reread], *, targeted: bool) -> None:
    app = run.app
    error: PollerError | None = None

    def attempt(step: Callable[[], None]) -> None:
        nonlocal error
        try:
            step()
        except (BudgetExhausted, FatalError) as exc:  # a stop request propagates; the claims are still decided
            log.warning("re-read requests: %s; the cycles read them", exc)
            error = error or exc

    for iid in _unique(requests, "invitation") if targeted else ():  # a cycle's own invitation poll just ran
        attempt(functools.partial(_reread_invitation, run, iid))
    if targeted and _unique(requests, "listing") and not run.baseline:
        attempt(lambda: poll_opportunities(run))
    opportunities = [oid for oid in _unique(requests, "opportunity") if oid not in run.tally.read]
    if opportunities and not run.baseline:  # before the first baseline nothing is compared: the baseline reads all
        now = iso(app.clock())
        with app.store.atomic():
            for oid in opportunities:
                app.store.records.mark_refetch(oid, "re-read requested", now)
        attempt(lambda: refetch(run))
    for request in requests:
        if request.claim is not None:
            try:
                _decide(run, request, Claim.from_json(request.claim))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:  # one bad claim never blocks the rest
                log.error("re-read request %d (%s): its claim cannot be decided: %s", request.id, request.source, exc)
                with app.store.atomic():
                    app.store.rereads.decide(request.id, iso(app.clock()), f"failed: {type(exc).__name__}: {exc}",
                                             None)
    with app.store.atomic():
        app.store.rereads.remove([r.id for r in requests if r.claim is None])
    if error is not None:
        raise error  # the run says why (partial or failed); what was queued is still delivered


def _unique(requests: Sequence[Reread], subject_type: str) -> list[str]:
    return list(dict.fromkeys(r.subject_id for r in requests if r.subject_type == subject_type))


def _reread_invitation(run: Run, invitation_id: str) -> None:
    """GetEngagementInvitation: a new PENDING one is announced as the invitation poll would; a known one that moved
    on is recorded (nothing to announce)."""
    app = run.app
    try:
        detail = app.pc.get_invitation(invitation_id)
        if detail is None:
            log.info("invitation %s is not visible to this account; nothing to read", invitation_id)
            return
        new = normalized(invitation_id, invitation_from, detail, detail, catalog=app.settings.catalog)
    except MalformedRecord as exc:  # the invitation poll walks it again
        run.tally.skip_error(exc, invitation_id)
        return
    old = app.store.records.invitations([invitation_id]).get(invitation_id)
    if old is not None:
        if old.status == new.status:
            return
        new = Invitation.from_dict({**old.to_dict(), "status": new.status})  # keep the details read when it was new
    commit_invitations(app, [(old, new)], run_id=run.id, baseline=run.baseline, tally=run.tally)


def _decide(run: Run, request: Reread, claim: Claim) -> None:
    """Covered (the poll found the same change now or already, or the same call was made) → nothing more to send;
    otherwise the claim is sent as the caller described it, once. The decision is kept for the caller."""
    app, rereads = run.app, run.app.store.rereads
    now = app.clock()
    now_iso = iso(now)
    oid = claim.opportunity_id
    stored = app.store.records.opportunities([oid]).get(oid)
    deal_id = claim.deal_id or (stored.snapshot.deal_id if stored else None)
    made = claim_event(claim, version="call:" + (stored.hash[:16] if stored else "none"), now=now, rules=app.rules,
                       deal_id=deal_id)
    if isinstance(made, NotNotified):
        with app.store.atomic():
            rereads.decide(request.id, now_iso, f"not notified: {made.reason}", None)
        return
    # The poll's event for the same change: found since Partner Central showed this state (or within the claim
    # window, for a late call); a new opportunity is announced once, by its invitation or its first sighting.
    seen = rereads.first_observed(oid)
    window = iso(now - CLAIM_WINDOW)
    since = "" if made.kind == "new_opportunity" else min(seen, window) if seen else window
    covering = rereads.covering(oid, made.kind, since=since, claim_key=made.key)
    referral = rereads.referral_key(stored.snapshot.title) if made.kind == "new_opportunity" and stored else None
    if covering is not None or referral is not None:
        key, run_id = covering if covering is not None else (referral, None)
        outcome = "found" if run_id == run.id else "already"
        with app.store.atomic():
            rereads.decide(request.id, now_iso, outcome, key)
        log.info("%s on %s: %s by %s", claim.call, oid, "found in Partner Central" if outcome == "found"
                 else "already notified", key)
        return
    context = stored.snapshot if stored else Snapshot(opportunity_id=oid, catalog=app.settings.catalog,
                                                      last_modified=now_iso, title=claim.deal_name, deal_id=deal_id)
    with app.store.atomic():
        fresh = app.store.outbox.record_events([made], detected_at=now_iso, source=CLAIM_SOURCE, run_id=run.id)
        notifications = plan([made] if made.key in fresh else [], {oid: context}, now, rules=app.rules)
        app.store.outbox.enqueue(notifications, now_iso, sinks=app.sink_names)
        rereads.decide(request.id, now_iso, "claimed", made.key)
    run.tally.events += len(fresh)
    run.tally.notifications.extend(notifications)
    log.info("%s on %s: Partner Central does not show it; sent as the caller described it (%s)", claim.call, oid,
             made.key)
