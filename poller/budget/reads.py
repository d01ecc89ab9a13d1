"""The job's share of Partner Central's rolling 24 h read quota: checked before every read and planned per page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from poller.errors import BudgetExhausted
from poller.store.budget import Budgets

HOST = "partner_central"  # the name Partner Central's calls are counted under (runs, api_calls_hourly)
READS_PER_RECORD = 2  # GetOpportunity + GetAwsOpportunitySummary (1 before submission; planned as 2)


class ReadBudget:
    """`limit` reads in any rolling 24 h. A page takes only the records it can afford, so a spent budget stops the
    reading between records whose reads are committed, never in the middle of a page whose reads would be lost."""

    def __init__(self, budgets: Budgets, limit: int, clock: Callable[[], dt.datetime], *, host: str = HOST,
                 label: str = "Partner Central"):
        self.budgets = budgets
        self.limit = limit
        self.clock = clock
        self.host = host  # another host's own budget (Benefits) is kept the same way
        self.label = label

    def room(self) -> int:
        return max(0, self.limit - self.budgets.used_last_24h(self.host, self.clock()))

    def spent(self) -> BudgetExhausted:
        # Always the same words, so every phase it stops reports one reason.
        return BudgetExhausted(f"{self.label} read budget for the last 24 h spent ({self.limit} reads)")

    def admit(self) -> None:
        """Before each read: the hard guarantee that the job never reads past its share."""
        if self.room() <= 0:
            raise self.spent()

    def affordable(self, wanted: int, cost: int = 1) -> int:
        """How many of `wanted` records, at `cost` reads each, the budget still allows."""
        return min(wanted, self.room() // cost)
