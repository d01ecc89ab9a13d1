"""Commit a page: diff each new snapshot against the stored one, and write snapshots, events, outbox and cursor at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from poller.core.carry import carry_forward
from poller.core.claims import CLAIM_WINDOW
from poller.core.conflicts import detect_conflicts
from poller.core.diff import diff
from poller.core.model import Deal, Event, Snapshot
from poller.core.plan import plan
from poller.core.settle import settle
from poller.core.timefmt import iso
from poller.errors import BudgetExhausted, FatalError, PollerError, StopRequested
from poller.run.context import Run
from poller.store.records import StoredOpportunity

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetched:
    snapshot: Snapshot
    aws_read: bool  # whether GetAwsOpportunitySummary was called (the sweep clock restarts only then)


def read_deals(run: Run, snapshots: Sequence[Snapshot]) -> tuple[list[Snapshot], dict[str, Deal]]:
    """The linked deals (by deal id), fresh from HubSpot when configured, else as last stored.

    By default the deal id is the opportunity's PartnerOpportunityIdentifier. With `deal_id_property` the deal is
    the one whose property holds the opportunity id, and the snapshots returned carry that deal's id.
    """
    app = run.app
    if app.deals is not None and app.settings.deal_id_property:
        by_opportunity = app.deals.deals_by_opportunity([s.opportunity_id for s in snapshots])
        linked = [dataclasses.replace(s, deal_id=by_opportunity[s.opportunity_id].deal_id
                                      if s.opportunity_id in by_opportunity else None) for s in snapshots]
        return linked, {d.deal_id: d for d in by_opportunity.values()}
    deal_ids = sorted({s.deal_id for s in snapshots if s.deal_id})
    if not deal_ids:
        return list(snapshots), {}
    return list(snapshots), app.linked_deals(deal_ids)


def without_deals(run: Run, fetched: Sequence[Fetched], stored: dict[str, StoredOpportunity], reason: str, *,
                  baseline: bool) -> tuple[list[Fetched], list[Snapshot]]:
    """The page to commit with no deals read: each snapshot keeps the deal link it had (poller.run.deal_recheck
    catches the deals up next cycle, with no Partner Central read again).

    With `deal_id_property` an opportunity never stored before has no known link, and committing it unlinked would
    send its bells to the fallback owner: that one alone is read again next cycle.
    """
    app = run.app
    log.warning("could not read the linked deals of %d opportunities (%s); committing them, their deals are "
                "checked next cycle", len(fetched), reason)
    if not app.settings.deal_id_property:
        return list(fetched), [f.snapshot for f in fetched]
    kept: list[Fetched] = []
    now = iso(app.clock())
    for item in fetched:
        old = stored.get(item.snapshot.opportunity_id)
        if old is None:
            app.store.records.mark_refetch(item.snapshot.opportunity_id, f"deal link unknown: {reason}", now,
                                           baseline=baseline)
            continue
        kept.append(dataclasses.replace(item, snapshot=dataclasses.replace(item.snapshot,
                                                                          deal_id=old.snapshot.deal_id)))
    return kept, [f.snapshot for f in kept]


def derive_and_commit(run: Run, fetched: Sequence[Fetched], *, baseline: bool, source: str,
                      cursor: tuple[str, str] | None = None, stored: dict[str, StoredOpportunity] | None = None,
                      silent_ids: frozenset[str] = frozenset()) -> list[Event]:
    """Diff each new snapshot against the stored one and commit snapshots, events, outbox and cursor together.

    `silent_ids` are derived as baseline whatever `baseline` says: records a baseline had to skip.
    """
    app, tally = run.app, run.tally
    now = app.clock()
    now_iso = iso(now)
    stored = stored if stored is not None else app.store.records.opportunities(
        [f.snapshot.opportunity_id for f in fetched])
    deals_unread: str | None = None
    try:
        snapshots, deals = read_deals(run, [f.snapshot for f in fetched])
    except StopRequested:
        raise  # a signal: the page is dropped whole and read again next time
    except (BudgetExhausted, FatalError) as exc:  # HubSpot busy or down: never read Partner Central twice for it
        deals_unread, deals = str(exc), {}
        fetched, snapshots = without_deals(run, fetched, stored, deals_unread, baseline=baseline)
    events: list[Event] = []
    writes: list[tuple[Snapshot, int, bool, dict[str, Any] | None, bool]] = []
    contexts: dict[str, Snapshot] = {}
    for item, read in zip(fetched, snapshots, strict=True):
        old = stored.get(read.opportunity_id)
        before = old.snapshot if old else None
        # Unknown is not a change (DESIGN §10); then the derived state flap safety and reminders rely on (core.settle).
        new = settle(before, carry_forward(before, read), now, rules=app.rules)
        contexts[new.opportunity_id] = new
        revision = 0 if old is None else old.aws_revision + (old.snapshot.aws_fingerprint != new.aws_fingerprint)
        reconciled_after = None
        conflict_events: tuple[Event, ...] = ()
        deal = deals.get(new.deal_id) if new.deal_id else None
        if deal is not None and app.hubspot is not None:
            claims = tuple(o for o in app.store.records.deal_claims(deal.deal_id) if o != new.opportunity_id)
            result = detect_conflicts(new, deal, app.store.records.reconciled(new.opportunity_id), now,
                                      rules=app.rules, claimed_by=claims)
            reconciled_after, conflict_events = result.reconciled, result.events
        referral_notified = old is not None or app.store.records.referral_notified(new.title)
        silent = baseline or new.opportunity_id in silent_ids
        events.extend(diff(old.snapshot if old else None, new, now, rules=app.rules, aws_revision=revision,
                           referral_notified=referral_notified, baseline=silent))
        if not silent:
            events.extend(conflict_events)
        writes.append((new, revision, item.aws_read, reconciled_after, silent))
    announced = _announced(run, events, now)
    with app.store.atomic():
        for snapshot, revision, aws_read, reconciled_after, silent in writes:
            app.store.records.save_snapshot(snapshot, aws_revision=revision, observed_at=now_iso, run_id=run.id,
                                            baseline=silent, aws_read=aws_read)
            if reconciled_after is not None:
                app.store.records.save_reconciled(snapshot.opportunity_id, reconciled_after, now_iso)
            app.store.records.clear_refetch(snapshot.opportunity_id)
        if deals_unread is not None:  # the deal-dependent steps catch up next cycle (poller.run.deal_recheck)
            app.store.deal_rechecks.mark({s.opportunity_id: baseline or s.opportunity_id in silent_ids
                                          for s in snapshots}, deals_unread, now_iso)
        elif app.hubspot is not None:
            app.store.deal_rechecks.clear([s.opportunity_id for s in snapshots])
        if app.hubspot is not None and deals:
            app.store.records.save_deals(deals.values(), now_iso)
        fresh = app.store.outbox.record_events(events, detected_at=now_iso, source=source, run_id=run.id)
        new_events = [e for e in events if e.key in fresh and e.key not in announced]
        notifications = plan(new_events, contexts, now, rules=app.rules)
        app.store.outbox.enqueue(notifications, now_iso, sinks=app.sink_routes)
        if cursor is not None:
            app.store.advance_cursor(cursor[0], cursor[1], now_iso)
    tally.events += len(new_events)
    tally.derived += len(events)
    tally.notifications.extend(notifications)
    return new_events


def _announced(run: Run, events: Sequence[Event], now: dt.datetime) -> set[str]:
    """Events a library call already sent as its claim while Partner Central still showed the state before: the
    same change, seen late by the poll (recorded, not sent again)."""
    found: set[str] = set()
    window = iso(now - CLAIM_WINDOW)
    for event in events:
        seen = run.app.store.rereads.first_observed(event.subject_id)  # the state being replaced
        claim = run.app.store.rereads.claimed(event.subject_id, event.kind, since=max(seen or "", window))
        if claim is not None:
            found.add(event.key)
            log.info("%s on %s is the change a library call announced (%s): not sent again", event.kind,
                     event.subject_id, claim)
    return found


def commit_page(run: Run, fetched: Sequence[Fetched], *, baseline: bool, cursor: tuple[str, str] | None = None,
                **derive: Any) -> None:
    """derive_and_commit one page; when the page cannot be stored, store its records one by one and skip the ones
    that cannot be, so one bad record never holds back the others (or the cursor) for good.

    When every record of a page fails alike, the trouble is not in the records: the page's error is raised.
    """
    try:
        derive_and_commit(run, fetched, baseline=baseline, cursor=cursor, **derive)
        return
    except PollerError:
        raise  # budgets, HubSpot: not about one record
    except Exception as page_error:
        if not fetched:
            raise
        log.warning("a page of %d records could not be stored (%s: %s); storing them one by one",
                    len(fetched), type(page_error).__name__, page_error)
        failed: list[tuple[str, Exception]] = []
        for item in fetched:
            try:
                derive_and_commit(run, [item], baseline=baseline, **derive)
            except PollerError:
                raise
            except Exception as exc:
                failed.append((item.snapshot.opportunity_id, exc))
        if len(failed) == len(fetched) > 1:
            raise page_error from None
    now = iso(run.app.clock())
    for opportunity_id, error in failed:
        reason = run.tally.skip(opportunity_id, f"cannot be stored ({type(error).__name__}: {error})")
        run.app.store.records.mark_refetch(opportunity_id, reason, now, baseline=baseline)
    if cursor is not None:  # what was stored and skipped is safe (the refetch table has the rest): move on
        derive_and_commit(run, [], baseline=baseline, cursor=cursor, **derive)
