"""One page of opportunities: read what changed (GetOpportunity, GetAwsOpportunitySummary), normalized, then commit it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from poller.budget.reads import READS_PER_RECORD
from poller.core.cursor import high_water as high_water_of
from poller.core.errors import MalformedRecord
from poller.core.model import AwsView
from poller.core.normalize import listed_version, reread_id, snapshot_from
from poller.core.review import canonical_review_status
from poller.core.timefmt import iso
from poller.run.commit import Fetched, commit_page
from poller.run.context import Run
from poller.store.records import StoredOpportunity

log = logging.getLogger(__name__)
T = TypeVar("T")


def kept_aws_view(old: StoredOpportunity | None, view: AwsView | None, opportunity_id: str) -> AwsView | None:
    """The AWS view to store: one that stops being readable (not found, denied) keeps the last one we had.

    Storing None instead would make its return a silent "first view", and the changes in between would be lost.
    """
    if view is None and old is not None and old.snapshot.aws is not None:
        log.info("AWS summary of %s is no longer readable; keeping the last one", opportunity_id)
        return old.snapshot.aws
    return view


def fetch_details(run: Run, ids: Sequence[str], stored: dict[str, StoredOpportunity], *,
                  baseline: bool = False) -> list[Fetched]:
    """GetOpportunity + GetAwsOpportunitySummary per id; broken, incomplete or vanished records are skipped and queued."""
    app, tally = run.app, run.tally
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


def ingest_listed_page(run: Run, page: Sequence[dict[str, Any]], *, baseline: bool, source: str,
                       cursor_name: str | None, since: str | None = None, until: str | None = None,
                       silent_ids: frozenset[str] = frozenset(), listed_at: dt.datetime | None = None) -> None:
    """One ListOpportunities page: read what changed, commit it, and move `cursor_name` to the page's high water.

    The high water never passes `listed_at` (the listing's request time) plus the clock skew: a record dated in the
    future is read like any other, but it cannot carry the cursor past changes still to come.
    """
    app, tally = run.app, run.tally
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
    changed, listed, unaffordable = affordable_prefix(run, changed, listed)
    stored = app.store.records.opportunities(changed)
    fetched = fetch_details(run, changed, stored, baseline=baseline)
    tally.changed += len(fetched)
    high_water, future = high_water_of(listed, listed_at or app.clock())
    for oid in future:
        if oid in changed:
            log.warning("opportunity %s is dated in the future (LastModifiedDate %s); read, but the cursor stays "
                        "at %s", oid, listed[oid], high_water)
    commit_page(run, fetched, baseline=baseline, source=source, stored=stored,
                cursor=(cursor_name, high_water) if cursor_name and high_water else None, silent_ids=silent_ids)
    if unaffordable:
        raise app.reads.spent()


def affordable_prefix(run: Run, changed: list[str], listed: dict[str, str]) -> tuple[list[str], dict[str, str], bool]:
    """(the changed records the read budget affords, the listing up to the first one it does not, whether any was
    left out). The listing is oldest first, so the cursor moves only past what was read; the rest is listed again.
    """
    afford = run.app.reads.affordable(len(changed), READS_PER_RECORD)
    if afford == len(changed):
        return changed, listed, False
    first_left = changed[afford]
    prefix: dict[str, str] = {}
    for oid, modified in listed.items():
        if oid == first_left:
            break
        prefix[oid] = modified
    return changed[:afford], prefix, True
