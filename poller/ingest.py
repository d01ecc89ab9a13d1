"""One page of opportunities: read details, normalize, diff against stored snapshots, and commit it all at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from poller.app import App
from poller.budget.reads import READS_PER_RECORD
from poller.core.carry import carry_forward
from poller.core.conflicts import detect_conflicts
from poller.core.cursor import high_water as high_water_of
from poller.core.diff import diff
from poller.core.errors import MalformedRecord
from poller.core.model import AwsView, Deal, Event, Notification, Snapshot
from poller.core.normalize import listed_version, reread_id, snapshot_from
from poller.core.plan import plan
from poller.core.review import canonical_review_status
from poller.core.timefmt import iso
from poller.core.wire import storable
from poller.core.wording import clip
from poller.deal_recheck import without_deals
from poller.errors import BudgetExhausted, FatalError, PollerError, StopRequested
from poller.store.records import StoredOpportunity

log = logging.getLogger(__name__)
T = TypeVar("T")
REASON_CAP = 300  # a reason quotes at most a clipped value, but an exception's text can be anything


@dataclass(slots=True, kw_only=True)
class RunTally:
    """What one run did, for its run row and summary."""

    pages: int = 0
    changed: int = 0
    swept: int = 0
    events: int = 0  # new events (keys not seen before)
    derived: int = 0  # every event derived, new or already known (backfill reports both)
    skipped: list[str] = field(default_factory=list)
    skipped_reasons: dict[str, str] = field(default_factory=dict)  # id → why, for the run row
    read: set[str] = field(default_factory=set)  # ids whose details this run already tried to read
    notifications: list[Notification] = field(default_factory=list)

    def skip(self, record_id: str, reason: str, label: str = "malformed") -> str:
        """Name a skipped record in the log and the run row; returns the reason as stored (clean, clipped)."""
        reason = clip(storable(reason), REASON_CAP)
        log.warning("skipped %s record %s: %s (it will be read again next cycle)", label, record_id, reason)
        if record_id not in self.skipped:
            self.skipped.append(record_id)
        self.skipped_reasons[record_id] = f"{label}: {reason}"
        return self.skipped_reasons[record_id]

    def skip_error(self, exc: MalformedRecord, record_id: str | None = None) -> str:
        return self.skip(record_id or exc.record_id, exc.reason, exc.label)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetched:
    snapshot: Snapshot
    aws_read: bool  # whether GetAwsOpportunitySummary was called (the sweep clock restarts only then)


def kept_aws_view(old: StoredOpportunity | None, view: AwsView | None, opportunity_id: str) -> AwsView | None:
    """The AWS view to store: one that stops being readable (not found, denied) keeps the last one we had.

    Storing None instead would make its return a silent "first view", and the changes in between would be lost.
    """
    if view is None and old is not None and old.snapshot.aws is not None:
        log.info("AWS summary of %s is no longer readable; keeping the last one", opportunity_id)
        return old.snapshot.aws
    return view


def fetch_details(app: App, ids: Sequence[str], stored: dict[str, StoredOpportunity], tally: RunTally, *,
                  baseline: bool = False) -> list[Fetched]:
    """GetOpportunity + GetAwsOpportunitySummary per id; broken, incomplete or vanished records are skipped and queued."""
    fetched: list[Fetched] = []
    now = iso(app.clock())
    for opportunity_id in ids:
        tally.read.add(opportunity_id)
        try:
            opportunity = app.pc.get_opportunity(opportunity_id)
            if opportunity is None:
                log.info("opportunity %s is no longer visible; keeping its last snapshot", opportunity_id)
                app.store.records.clear_refetch(opportunity_id)
                continue
            old = stored.get(opportunity_id)
            status = canonical_review_status((opportunity.get("LifeCycle") or {}).get("ReviewStatus")
                                             if isinstance(opportunity.get("LifeCycle"), dict) else None)
            # Before submission AWS has no view yet: skip the call unless we already had one.
            need_summary = status != "pendingsubmission" or (old is not None and old.snapshot.aws is not None)
            summary = app.pc.get_aws_summary(opportunity_id) if need_summary else None
            snapshot = normalized(opportunity_id, snapshot_from, opportunity, summary, catalog=app.settings.catalog)
            view = kept_aws_view(old, snapshot.aws, opportunity_id)
            if view is not snapshot.aws:
                snapshot = dataclasses.replace(snapshot, aws=view)
            fetched.append(Fetched(snapshot=snapshot, aws_read=need_summary))
        except MalformedRecord as exc:  # incomplete ones too: the stored snapshot keeps the last known values
            app.store.records.mark_refetch(opportunity_id, tally.skip_error(exc, opportunity_id), now,
                                           baseline=baseline)
    return fetched


def normalized(record_id: str, build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """build(*args, **kwargs), a normalization, where anything one record's values make it raise is that record's
    problem: MalformedRecord, so the record is skipped and named rather than failing the cycle."""
    try:
        return build(*args, **kwargs)
    except MalformedRecord:
        raise
    except Exception as exc:  # a value the answer check let through but normalization cannot take
        log.debug("normalizing %s failed", record_id, exc_info=True)
        raise MalformedRecord(record_id, f"cannot be normalized ({type(exc).__name__}: {exc})") from exc


def read_deals(app: App, snapshots: Sequence[Snapshot]) -> tuple[list[Snapshot], dict[str, Deal]]:
    """The linked deals (by deal id), fresh from HubSpot when configured, else as last stored.

    By default the deal id is the opportunity's PartnerOpportunityIdentifier. With `deal_id_property` the deal is
    the one whose property holds the opportunity id, and the snapshots returned carry that deal's id.
    """
    if app.deals is not None and app.settings.deal_id_property:
        by_opportunity = app.deals.deals_by_opportunity([s.opportunity_id for s in snapshots])
        linked = [dataclasses.replace(s, deal_id=by_opportunity[s.opportunity_id].deal_id
                                      if s.opportunity_id in by_opportunity else None) for s in snapshots]
        return linked, {d.deal_id: d for d in by_opportunity.values()}
    deal_ids = sorted({s.deal_id for s in snapshots if s.deal_id})
    if not deal_ids:
        return list(snapshots), {}
    return list(snapshots), app.linked_deals(deal_ids)


def derive_and_commit(app: App, fetched: Sequence[Fetched], *, run_id: int, baseline: bool, source: str,
                      tally: RunTally, cursor: tuple[str, str] | None = None,
                      stored: dict[str, StoredOpportunity] | None = None,
                      silent_ids: frozenset[str] = frozenset()) -> list[Event]:
    """Diff each new snapshot against the stored one and commit snapshots, events, outbox and cursor together.

    `silent_ids` are derived as baseline whatever `baseline` says: records a baseline had to skip.
    """
    now = app.clock()
    now_iso = iso(now)
    stored = stored if stored is not None else app.store.records.opportunities(
        [f.snapshot.opportunity_id for f in fetched])
    deals_unread: str | None = None
    try:
        snapshots, deals = read_deals(app, [f.snapshot for f in fetched])
    except StopRequested:
        raise  # a signal: the page is dropped whole and read again next time
    except (BudgetExhausted, FatalError) as exc:  # HubSpot busy or down: never read Partner Central twice for it
        deals_unread, deals = str(exc), {}
        fetched, snapshots = without_deals(app, fetched, stored, deals_unread, baseline=baseline)
    events: list[Event] = []
    writes: list[tuple[Snapshot, int, bool, dict[str, Any] | None, bool]] = []
    contexts: dict[str, Snapshot] = {}
    for item, read in zip(fetched, snapshots, strict=True):
        old = stored.get(read.opportunity_id)
        new = carry_forward(old.snapshot if old else None, read)  # unknown is not a change (DESIGN §10)
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
    with app.store.atomic():
        for snapshot, revision, aws_read, reconciled_after, silent in writes:
            app.store.records.save_snapshot(snapshot, aws_revision=revision, observed_at=now_iso, run_id=run_id,
                                            baseline=silent, aws_read=aws_read)
            if reconciled_after is not None:
                app.store.records.save_reconciled(snapshot.opportunity_id, reconciled_after, now_iso)
            app.store.records.clear_refetch(snapshot.opportunity_id)
        if deals_unread is not None:  # the deal-dependent steps catch up next cycle (poller.deal_recheck)
            app.store.deal_rechecks.mark({s.opportunity_id: baseline or s.opportunity_id in silent_ids
                                          for s in snapshots}, deals_unread, now_iso)
        elif app.hubspot is not None:
            app.store.deal_rechecks.clear([s.opportunity_id for s in snapshots])
        if app.hubspot is not None and deals:
            app.store.records.save_deals(deals.values(), now_iso)
        fresh = app.store.outbox.record_events(events, detected_at=now_iso, source=source, run_id=run_id)
        new_events = [e for e in events if e.key in fresh]
        notifications = plan(new_events, contexts, now, rules=app.rules)
        app.store.outbox.enqueue(notifications, now_iso)
        if cursor is not None:
            app.store.advance_cursor(cursor[0], cursor[1], now_iso)
    tally.events += len(new_events)
    tally.derived += len(events)
    tally.notifications.extend(notifications)
    return new_events


def commit_page(app: App, fetched: Sequence[Fetched], *, tally: RunTally, baseline: bool,
                cursor: tuple[str, str] | None = None, **derive: Any) -> None:
    """derive_and_commit one page; when the page cannot be stored, store its records one by one and skip the ones
    that cannot be, so one bad record never holds back the others (or the cursor) for good.

    When every record of a page fails alike, the trouble is not in the records: the page's error is raised.
    """
    try:
        derive_and_commit(app, fetched, tally=tally, baseline=baseline, cursor=cursor, **derive)
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
                derive_and_commit(app, [item], tally=tally, baseline=baseline, **derive)
            except PollerError:
                raise
            except Exception as exc:
                failed.append((item.snapshot.opportunity_id, exc))
        if len(failed) == len(fetched) > 1:
            raise page_error from None
    now = iso(app.clock())
    for opportunity_id, exc in failed:
        reason = tally.skip(opportunity_id, f"cannot be stored ({type(exc).__name__}: {exc})")
        app.store.records.mark_refetch(opportunity_id, reason, now, baseline=baseline)
    if cursor is not None:  # what was stored and skipped is safe (the refetch table has the rest): move on
        derive_and_commit(app, [], tally=tally, baseline=baseline, cursor=cursor, **derive)


def ingest_listed_page(app: App, page: Sequence[dict[str, Any]], *, run_id: int, baseline: bool, source: str,
                       tally: RunTally, cursor_name: str | None, since: str | None = None, until: str | None = None,
                       silent_ids: frozenset[str] = frozenset(), listed_at: dt.datetime | None = None) -> None:
    """One ListOpportunities page: read what changed, commit it, and move `cursor_name` to the page's high water.

    The high water never passes `listed_at` (the listing's request time) plus the clock skew: a record dated in the
    future is read like any other, but it cannot carry the cursor past changes still to come.
    """
    tally.pages += 1
    listed: dict[str, str] = {}
    for item in page:
        try:
            oid, last_modified = listed_version(item)
        except MalformedRecord as exc:
            reason = tally.skip_error(exc)
            reread = reread_id(item)
            if reread:  # the cursor moves past it, so only the refetch table brings it back (GetOpportunity by id)
                app.store.records.mark_refetch(reread, reason, iso(app.clock()), baseline=baseline)
            continue
        if (since is None or last_modified >= since) and (until is None or last_modified <= until):
            listed[oid] = last_modified
    versions = app.store.records.versions(list(listed))
    # Boundary repeats from the lookback come back with the same LastModifiedDate: no Get calls for them.
    changed = [oid for oid, lm in listed.items() if versions.get(oid) != lm]
    changed, listed, unaffordable = affordable_prefix(app, changed, listed)
    stored = app.store.records.opportunities(changed)
    fetched = fetch_details(app, changed, stored, tally, baseline=baseline)
    tally.changed += len(fetched)
    high_water, future = high_water_of(listed, listed_at or app.clock())
    for oid in future:
        if oid in changed:
            log.warning("opportunity %s is dated in the future (LastModifiedDate %s); read, but the cursor stays "
                        "at %s", oid, listed[oid], high_water)
    commit_page(app, fetched, run_id=run_id, baseline=baseline, source=source, tally=tally, stored=stored,
                cursor=(cursor_name, high_water) if cursor_name and high_water else None, silent_ids=silent_ids)
    if unaffordable:
        raise app.reads.spent()


def affordable_prefix(app: App, changed: list[str], listed: dict[str, str]) -> tuple[list[str], dict[str, str], bool]:
    """(the changed records the read budget affords, the listing up to the first one it does not, whether any was
    left out). The listing is oldest first, so the cursor moves only past what was read; the rest is listed again.
    """
    afford = app.reads.affordable(len(changed), READS_PER_RECORD)
    if afford == len(changed):
        return changed, listed, False
    first_left = changed[afford]
    prefix: dict[str, str] = {}
    for oid, modified in listed.items():
        if oid == first_left:
            break
        prefix[oid] = modified
    return changed[:afford], prefix, True
