"""The one clock: wall time (aware UTC), epoch seconds and monotonic seconds; everything else takes `now` or a clock."""

from __future__ import annotations

import datetime as dt
import time

from poller.core.timefmt import iso, parse_iso

__all__ = ["epoch", "iso", "monotonic", "parse_iso", "utc_now"]

# The standard functions themselves, so that whoever replaces them replaces them here too: a test's freezegun patches
# these names for callers that read them when they run, as it patches `time.monotonic`; a default argument bound to
# them at import keeps the real clock, as `time.monotonic` bound there would (pacing and run limits rely on that).
monotonic = time.monotonic
epoch = time.time


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
