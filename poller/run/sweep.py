"""The budgeted sweep: re-read AWS summaries (and linked deals) of open opportunities whose last read is too old."""

from __future__ import annotations

import dataclasses

from poller.core.errors import MalformedRecord
from poller.core.normalize import aws_view_from
from poller.core.timefmt import iso
from poller.run.commit import Fetched, commit_page
from poller.run.context import Run
from poller.run.pages import kept_aws_view, normalized

PAGE = 100
MAX_PER_CYCLE = 100_000


def sweep(run: Run, *, every: bool = False) -> None:
    """AWS-side changes (score, team, insights) need not move LastModifiedDate, so they are caught here.

    What is due follows from each last AWS read and the sweep period in force now; `every` reads every open
    opportunity's AWS summary (`poller run --sweep`). Either way, within the run's budgets, page by page.
    """
    app, tally = run.app, run.tally
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
        commit_page(run, fetched, baseline=False, source="sweep", stored=stored)
        if unaffordable:
            raise app.reads.spent()
        run.check()
