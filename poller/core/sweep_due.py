"""When an open opportunity's AWS summary is due for the sweep: its last read plus the current period, spread by id."""

from __future__ import annotations

import hashlib


def spread(opportunity_id: str) -> float:
    """A stable fraction in [0, 1) per id: due times spread evenly over the period, so the load stays even."""
    return int(hashlib.sha256(opportunity_id.encode()).hexdigest()[:8], 16) / 0x1_0000_0000


def sweep_delay(opportunity_id: str, period: float) -> float:
    """Seconds after its last AWS read that an opportunity is due: period × [0.5, 1.5); 0 = every cycle.

    Computed from the period in force *now*, never stored, so a new POLLER_SWEEP_PERIOD applies at once. The
    lower bound 0.5 keeps what a cycle just read from being due again at once.
    """
    return period * (0.5 + spread(opportunity_id)) if period > 0 else 0.0
