"""Managers' daily roll-ups: once a manager's roll-up time has passed, one row per sink, keyed by manager and day.

The roll-up goes to every configured sink like any notification (a HubSpot task today; a Slack message where that
sink exists), and its key (manager, local day) makes it exactly once however many cycles, reruns or crashes see
the moment pass.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from poller.core.notes.rollup import RollupFacts, render_rollup, rollup_day, rollup_key
from poller.core.preferences import Preferences, Team
from poller.core.timefmt import iso
from poller.delivery.routing import Owners
from poller.store.database import StateStore

log = logging.getLogger(__name__)
EXPIRING = dt.timedelta(days=3)


def resolve(names: Sequence[str], owners: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Owner ids for ids or emails; an email no active owner has is left out (an id is kept: its rows still count)."""
    by_email = {str(o.get("email") or "").casefold(): oid for oid, o in owners.items() if o.get("email")}
    found = [by_email.get(name.casefold()) if "@" in name else name for name in names]
    return sorted({f for f in found if f})


def queue_rollups(store: StateStore, preferences: Preferences, owners: Owners, clock: Callable[[], dt.datetime],
                  sinks: Sequence[str]) -> int:
    """Queue every manager's roll-up that is due and not queued yet; returns how many were queued."""
    managers = preferences.managers()
    if not managers or not sinks:
        return 0
    active = owners.active_owners()
    now, queued = clock(), 0
    for name, team in managers:
        ids = resolve([name], active)
        if not ids or ids[0] not in active:
            log.warning("manager %s of team %s is not an active HubSpot owner: no roll-up", name, team.name)
            continue
        manager_id = ids[0]
        prefs = preferences.effective(manager_id, active[manager_id].get("email"))
        due = rollup_day(prefs.rollup_at, prefs.time_zone, now)
        if due is None:
            continue
        day, since, until = due
        key = rollup_key(manager_id, day)
        if all(store.digests.exists(key, sink) for sink in sinks):
            continue
        facts = _facts(store, team, resolve(sorted(team.members), active), manager_id, day, since, until, now, sinks[0])
        note = render_rollup(key, facts, now)
        with store.atomic():
            for sink in sinks:
                queued += store.digests.add(note, sink=sink, owner_id=manager_id, route=f"manager of team {team.name}",
                                            reason="daily roll-up", now=iso(now), source="rollup")
        log.info("queued the %s roll-up of team %s for manager %s", day, team.name, manager_id)
    return queued


def _facts(store: StateStore, team: Team, members: list[str], manager_id: str, day: str, since: dt.datetime,
           until: dt.datetime, now: dt.datetime, sink: str) -> RollupFacts:
    rollups = store.rollups
    return RollupFacts(
        manager_id=manager_id, team=team.name, day=day, since=iso(since),
        by_kind=tuple(rollups.by_kind(sink, members, iso(since), iso(until))),
        outcomes=tuple(rollups.outcomes(sink, members, iso(since), iso(until))),
        action_required=tuple(rollups.action_required(members)),
        expiring=tuple(rollups.expiring(members, iso(now), iso(now + EXPIRING))),
        failed=tuple(rollups.undelivered(sink, members)))
