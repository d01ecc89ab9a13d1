"""The one retry layer: tenacity retries RetriableError only, with jittered exponential waits, then re-raises."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential, wait_random

from poller.errors import RetriableError

log = logging.getLogger(__name__)
T = TypeVar("T")


def _jittered() -> wait_base:
    """0.5 s, 1 s, 2 s … up to 20 s, plus up to 1 s of jitter so parallel jobs don't retry in step."""
    return wait_exponential(multiplier=0.5, max=20) + wait_random(0, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrySettings:
    # Attempt-based stop first: under freezegun time.monotonic is frozen and a delay-based stop alone never fires.
    stop: stop_base = field(default_factory=lambda: stop_after_attempt(5) | stop_after_delay(120))
    wait: wait_base = field(default_factory=lambda: _jittered())
    sleep: Callable[[float], None] = time.sleep  # the back-off; the app's stop flag's wait() ends it on a signal

    @classmethod
    def attempts(cls, n: int, wait: wait_base | None = None) -> RetrySettings:
        return cls(stop=stop_after_attempt(n) | stop_after_delay(300),
                   wait=wait or _jittered())


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("retrying %s after attempt %d: %s", getattr(state.fn, "__name__", "call"), state.attempt_number, exc)


def call_with_retry(settings: RetrySettings, fn: Callable[[], T]) -> T:
    retrying = Retrying(stop=settings.stop, wait=settings.wait, retry=retry_if_exception_type(RetriableError),
                        before_sleep=_log_retry, reraise=True, sleep=settings.sleep)
    return retrying(fn)
