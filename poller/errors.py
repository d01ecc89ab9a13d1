"""Every error the job raises on purpose, named for what the caller does: fix, retry, give up, stop cleanly, look up.

    PollerError
    ├── ConfigError        fix a setting or the database path, then run again            exit 2
    │   └── StoreUnusable
    ├── UsageError         run something else first (a backfill before any baseline)   exit 2
    ├── RetriableError     retry within the budget
    │   └── RateLimited    a 429 / throttle: nothing was processed
    ├── FatalError         give up on this cycle; state stays consistent                exit 1
    │   ├── TokenRefused   HubSpot refused the token or its scopes (401/403)
    │   └── DealReadFailed a deal read whose answer proves nothing: read again next cycle
    └── Deferred           stop cleanly at the next boundary; the next cycle continues  exit 0
        ├── BudgetExhausted   a time or API budget is spent
        │   └── DailyLimitReached   HubSpot's daily limit: say so loudly
        └── StopRequested     a signal (SIGTERM, SIGINT, SIGHUP)

UnknownOutcome is a signal from a sink to the outbox protocol, not a failure of the job (so the boundaries that turn
a PollerError into a run's outcome never swallow it): a write may have been applied, so it is looked up before any
resend. A record too broken to read is the core's MalformedRecord (or IncompleteRecord): skip it, name it, read it
again next cycle. What an adapter's answers mean before they become these (HubSpot's Rejected 4xx, a 429 to wait
out, a Partner Central answer that would come the same way again) stays inside that adapter.
"""

from __future__ import annotations

from pathlib import Path

from poller.core.errors import IncompleteRecord, MalformedRecord

__all__ = ["BudgetExhausted", "ConfigError", "DailyLimitReached", "DealReadFailed", "Deferred", "FatalError",
           "IncompleteRecord", "MalformedRecord", "PollerError", "RateLimited", "RetriableError",
           "StopRequested", "StoreUnusable", "TokenRefused", "UnknownOutcome", "UsageError"]


class PollerError(Exception):
    """Base of every error the job raises on purpose."""


class ConfigError(PollerError):
    """A setting is missing or invalid: the operator must fix it (exit 2)."""


class StoreUnusable(ConfigError):
    """The state database cannot be used as configured (POLLER_DB): fix the path or the file, then run again."""

    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"db: {path} {problem} (POLLER_DB or --db)")


class UsageError(PollerError):
    """The command cannot run on the state as it is (a backfill before any baseline): run what it names first (exit 2)."""


class RetriableError(PollerError):
    """A transient failure (throttling, 5xx, connection refused): retry within the budget."""


class RateLimited(RetriableError):
    """HTTP 429: nothing was processed, so the same request may be sent again after a back-off."""


class FatalError(PollerError):
    """The cycle cannot continue (auth, permission, an API unreachable after retries): exit 1, state stays consistent."""


class TokenRefused(FatalError):
    """HubSpot refused the token or its permissions (401/403): fatal for the cycle unless the caller can do without."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class DealReadFailed(FatalError):
    """A deal read whose answer does not say whether some deals exist: not "not found"; read again next cycle.

    Nothing is concluded from it: no fallback routing, no broken-link conflict. The cycle fails in one line (exit 1)
    with its Partner Central page uncommitted, so the next cycle reads it all again.
    """


class Deferred(PollerError):
    """Stop cleanly at the next boundary (a page, a record, a batch) and leave the rest to the next cycle (exit 0)."""


class BudgetExhausted(Deferred):
    """The run's time or API budget is spent: stop cleanly at a page boundary and let the next cycle continue."""


class DailyLimitReached(BudgetExhausted):
    """HubSpot's daily limit for the portal is spent: stop delivering until it resets, and say so loudly."""


class StopRequested(Deferred):
    """A signal (SIGTERM, SIGINT, SIGHUP) asked the process to stop: end at the next record, release the lease."""


class UnknownOutcome(Exception):
    """The request may or may not have been applied (timeout, 5xx, disconnect): never resend blindly."""
