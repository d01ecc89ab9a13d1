"""Pages whose linked deals HubSpot could not give: commit what Partner Central said, catch the deals up next cycle.

A busy or unavailable HubSpot (429s past the run's budget, its daily limit, an outage) must not cost a second read
of what Partner Central already answered. The snapshots are committed without their deals, the opportunities are
marked, and the next cycle reads their deals and runs the deal-dependent steps (conflicts, the deal link) against
the stored snapshots. Routing reads any deal it lacks when it delivers.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from poller.app import App
from poller.core.model import Snapshot
from poller.core.timefmt import iso
from poller.store.lease import Lease
from poller.store.records import StoredOpportunity

if TYPE_CHECKING:
    from poller.budget.limits import Limits
    from poller.ingest import Fetched, RunTally

log = logging.getLogger(__name__)
PAGE = 100


def without_deals(app: App, fetched: Sequence[Fetched], stored: dict[str, StoredOpportunity], reason: str, *,
                  baseline: bool) -> tuple[list[Fetched], list[Snapshot]]:
    """The page to commit with no deals read: each snapshot keeps the deal link it had.

    With `deal_id_property` an opportunity never stored before has no known link, and committing it unlinked would
    send its bells to the fallback owner: that one alone is read again next cycle.
    """
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


def recheck_deals(app: App, *, run_id: int, tally: RunTally, limits: Limits, lease: Lease | None) -> None:
    """Read the deals of the opportunities marked earlier and compare them with the stored snapshots (no Partner
    Central read); one marked during the baseline stays silent."""
    if app.hubspot is None or app.hubspot.unavailable is not None:
        return  # still no HubSpot this run: the marks wait for the next one
    from poller.ingest import Fetched, derive_and_commit  # ingest commits pages through without_deals above

    queue = app.store.deal_rechecks.queue()
    for silent in (True, False):
        ids = [oid for oid, was_baseline in queue if was_baseline == silent]
        for start in range(0, len(ids), PAGE):
            chunk = ids[start:start + PAGE]
            stored = app.store.records.opportunities(chunk)
            with app.store.atomic():
                app.store.deal_rechecks.clear([oid for oid in chunk if oid not in stored])  # nothing to compare
            fetched = [Fetched(snapshot=s.snapshot, aws_read=False) for s in stored.values()]
            derive_and_commit(app, fetched, run_id=run_id, baseline=silent, source="cycle", tally=tally,
                              stored=stored)
            limits.check(lease)
