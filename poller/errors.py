"""Errors named for what the caller does about them: retry, give up on the cycle, or fix the configuration."""

from __future__ import annotations

from poller.core.errors import MalformedRecord

__all__ = ["BudgetExhausted", "ConfigError", "FatalError", "MalformedRecord", "PollerError", "RateLimited",
           "RetriableError", "StopRequested"]


class PollerError(Exception):
    """Base of every error the job raises on purpose."""


class ConfigError(PollerError):
    """A setting is missing or invalid: the operator must fix it (exit 2)."""


class RetriableError(PollerError):
    """A transient failure (throttling, 5xx, connection refused): retry within the budget."""


class RateLimited(RetriableError):
    """HTTP 429: nothing was processed, so the same request may be sent again after a back-off."""


class FatalError(PollerError):
    """The cycle cannot continue (auth, permission, an API unreachable after retries): exit 1, state stays consistent."""


class BudgetExhausted(PollerError):
    """The run's time or API budget is spent: stop cleanly at a page boundary and let the next cycle continue."""


class StopRequested(BudgetExhausted):
    """A signal (SIGTERM, SIGINT, SIGHUP) asked the process to stop: end at the next record, like a spent budget."""
