"""The cursor cap and the sweep's due times, as pure arithmetic."""

from __future__ import annotations

import datetime as dt

from poller.core.cursor import CLOCK_SKEW, high_water
from poller.core.sweep_due import spread, sweep_delay
from poller.core.timefmt import iso

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_the_high_water_never_passes_the_request_time_plus_the_skew():
    listed = {"O1": iso(AT - dt.timedelta(minutes=3)), "O2": iso(AT + dt.timedelta(minutes=4)),
              "O3": "2999-01-01T00:00:00.000000Z"}
    value, future = high_water(listed, AT)
    assert value == listed["O2"] and future == ["O3"]  # AWS's clock may run a little ahead: within the skew
    assert high_water({"O3": listed["O3"]}, AT) == (None, ["O3"])  # nothing sane: the cursor stays
    assert high_water({}, AT) == (None, [])
    assert CLOCK_SKEW == dt.timedelta(minutes=5)


def test_due_times_spread_over_half_to_one_and_a_half_periods():
    ids = [f"O{1_000_000 + n}" for n in range(2000)]
    delays = [sweep_delay(i, 3600) for i in ids]
    assert 1800 <= min(delays) and max(delays) < 5400
    quarters = [sum(1 for i in ids if q / 4 <= spread(i) < (q + 1) / 4) for q in range(4)]
    assert all(400 < q < 600 for q in quarters)  # even
    assert sweep_delay("O1", 0) == 0  # 0 = every cycle
    assert sweep_delay("O1", 600) == sweep_delay("O1", 3600) / 6  # the same place in whatever period is in force
