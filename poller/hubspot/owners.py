"""HubSpot's owners as routing needs them: who is active (a person with a user), cached for 10 minutes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from poller.hubspot.portal import HubSpotPortal
from poller.store.owners import Owners

CACHE_FOR = dt.timedelta(minutes=10)


class HubSpotOwners:
    def __init__(self, portal: HubSpotPortal, cache: Owners, *, clock: Callable[[], dt.datetime], atomic: Callable[..., Any]):
        self.portal = portal
        self.cache = cache
        self.clock = clock
        self.atomic = atomic  # the store's transaction: the cache is replaced whole or not at all

    def active_owners(self) -> dict[str, dict[str, Any]]:
        """Active (not archived, with a user) owners by id, from /crm/v3/owners; cached in SQLite for 10 minutes."""
        now = self.clock()
        cached = self.cache.fresh((now - CACHE_FOR).isoformat())
        if cached:
            return {r["owner_id"]: r for r in cached if r["active"]}
        owners: dict[str, dict[str, Any]] = {}
        after = None
        while True:
            data, _s, _h = self.portal.call(self.portal.owners.get_page_with_http_info, limit=500, archived=False,
                                            **({"after": after} if after else {}))
            for owner in data.results or []:
                # A queue or a deactivated user (no userId) never sees the bell: tasks go to the fallback instead.
                active = (not owner.archived and getattr(owner, "user_id", None) is not None
                          and (getattr(owner, "type", None) or "PERSON").upper() == "PERSON")
                owners[str(owner.id)] = {"owner_id": str(owner.id), "email": owner.email,
                                         "first_name": owner.first_name, "last_name": owner.last_name,
                                         "active": int(active), "fetched_at": now.isoformat()}
            after = data.paging.next.after if data.paging and data.paging.next else None
            if not after:
                break
        with self.atomic():
            self.cache.replace(owners.values())
        return {k: v for k, v in owners.items() if v["active"]}

    def forget_owners(self) -> None:
        """Drop the cached owners: HubSpot refused one, so the next routing reads the list afresh."""
        with self.atomic():
            self.cache.forget()
