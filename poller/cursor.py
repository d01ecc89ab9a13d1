"""Where a listing starts: the stored cursor minus the lookback, repaired if an older version left it in the future."""

from __future__ import annotations

import datetime as dt
import logging

from poller.app import App
from poller.core.cursor import cursor_cap
from poller.core.timefmt import iso, parse_iso

log = logging.getLogger(__name__)


def listing_since(app: App, name: str, now: dt.datetime) -> str | None:
    """The `AfterLastModifiedDate` of the next listing; None lists everything (no cursor yet).

    A cursor beyond `now` + skew can only have been left by a record dated in the future (before the cap existed):
    it is pulled back to the newest stored LastModifiedDate within the cap, so later changes are seen again.
    """
    cursor = app.store.cursor(name)
    cap = cursor_cap(now)
    if cursor is not None and cursor > cap:
        sane = app.store.records.newest_last_modified(cap)
        log.warning("cursor %s is %s, in the future (a record dated in the future moved it there); pulling it back "
                    "to %s", name, cursor, sane)
        app.store.set_cursor(name, sane, iso(now))
        cursor = sane
    return None if cursor is None else iso(parse_iso(cursor) - dt.timedelta(seconds=app.settings.lookback))
