"""The deal re-check phase: opportunities committed while HubSpot could not give their deals are compared again.

A busy or unavailable HubSpot (429s past the run's budget, its daily limit, an outage) must not cost a second read
of what Partner Central already answered. The snapshots are committed without their deals (poller.run.commit), the
opportunities are marked, and the next cycle reads their deals and runs the deal-dependent steps (conflicts, the
deal link) against the stored snapshots. Routing reads any deal it lacks when it delivers.
"""

from __future__ import annotations

import logging

from poller.run.commit import Fetched, derive_and_commit
from poller.run.context import Run

log = logging.getLogger(__name__)
PAGE = 100


def recheck_deals(run: Run) -> None:
    """Read the deals of the opportunities marked earlier and compare them with the stored snapshots (no Partner
    Central read); one marked during the baseline stays silent."""
    app = run.app
    if app.hubspot is None or app.hubspot.unavailable is not None:
        return  # still no HubSpot this run: the marks wait for the next one
    queue = app.store.deal_rechecks.queue()
    for silent in (True, False):
        ids = [oid for oid, was_baseline in queue if was_baseline == silent]
        for start in range(0, len(ids), PAGE):
            chunk = ids[start:start + PAGE]
            stored = app.store.records.opportunities(chunk)
            with app.store.atomic():
                app.store.deal_rechecks.clear([oid for oid in chunk if oid not in stored])  # nothing to compare
            fetched = [Fetched(snapshot=s.snapshot, aws_read=False) for s in stored.values()]
            derive_and_commit(run, fetched, baseline=silent, source="cycle", stored=stored)
            run.check()
