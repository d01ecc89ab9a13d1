"""The one place that reads the wall clock; everything else takes `now` as an argument."""

from __future__ import annotations

import datetime as dt

from poller.core.timefmt import iso, parse_iso

__all__ = ["iso", "parse_iso", "utc_now"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
