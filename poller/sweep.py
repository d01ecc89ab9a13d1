"""The budgeted sweep: re-read AWS summaries (and linked deals) of open opportunities whose last read is too old."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from poller.app import App
from poller.core.errors import MalformedRecord
from poller.core.normalize import aws_view_from
from poller.core.timefmt import iso
from poller.ingest import Fetched, RunTally, commit_page, kept_aws_view, normalized
from poller.store.lease import Lease

if TYPE_CHECKING:
    from poller.budget.limits import Limits

PAGE = 100
MAX_PER_CYCLE = 100_000


def sweep(app: App, *, run_id: int, tally: RunTally, limits: Limits, lease: Lease | None,
          every: bool = False) -> None:
    """AWS-side changes (score, team, insights) need not move LastModifiedDate, so they are caught here.

    What is due follows from each last AWS read and the sweep period in force now; `every` reads every open
    opportunity's AWS summary (`poller run --sweep`). Either way, within the run's budgets, page by page.
    """
    # Fixed at the start, so each id is read once; what this run has just read is not read again.
    due = [oid for oid in app.store.records.due_for_sweep(app.clock(), app.settings.sweep_period, MAX_PER_CYCLE,
                                                          every=every) if oid not in tally.read]
    for start in range(0, len(due), PAGE):
        page = due[start:start + PAGE]
        afford = app.reads.affordable(len(page))  # one read each; what the budget cannot take waits, still due
        page, unaffordable = page[:afford], afford < len(page)
        stored = app.store.records.opportunities(page)
        fetched: list[Fetched] = []
        for opportunity_id in page:
            old = stored[opportunity_id]
            try:
                summary = app.pc.get_aws_summary(opportunity_id)
                view = normalized(opportunity_id, aws_view_from, summary, opportunity_id)
            except MalformedRecord as exc:
                # The stored view stays; the refetch table reads the whole record again next cycle.
                reason = tally.skip_error(exc, opportunity_id)
                app.store.records.mark_refetch(opportunity_id, reason, iso(app.clock()))
                continue
            view = kept_aws_view(old, view, opportunity_id)
            fetched.append(Fetched(snapshot=dataclasses.replace(old.snapshot, aws=view), aws_read=True))
        tally.swept += len(fetched)
        commit_page(app, fetched, run_id=run_id, baseline=False, source="sweep", tally=tally, stored=stored)
        if unaffordable:
            raise app.reads.spent()
        limits.check(lease)
