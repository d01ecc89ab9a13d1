"""The HubSpot portal: the real hubspot-api-client behind one call path, with its budget, retries and error mapping."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import urllib3
from hubspot import HubSpot
from urllib3.util.retry import Retry

from poller.budget.pace import RateGate
from poller.budget.requests import HubSpotBudget, wait_after_429
from poller.config import Settings
from poller.errors import (
    BudgetExhausted,
    DailyLimitReached,
    FatalError,
    PollerError,
    RetriableError,
    TokenRefused,
    UnknownOutcome,
)
from poller.retry import RetrySettings, call_with_retry
from poller.store.budget import Budgets

log = logging.getLogger(__name__)
PATIENCE = 60.0  # seconds of 429s one call waits out when no run set a deadline (library use, checks)


class _Throttled(Exception):
    """A ten-secondly 429: nothing was processed; wait as HubSpot's headers say, then send the same request again."""

    def __init__(self, headers: Any):
        super().__init__("HubSpot rate limit (429)")
        self.headers = headers


class Rejected(Exception):
    """HubSpot answered with a client error that a resend would not change."""

    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {_message(body)}")
        self.status = status
        self.body = body


def _policy(body: str | None) -> str | None:
    try:
        return str(json.loads(body or "{}").get("policyName") or "").upper() or None
    except (ValueError, AttributeError):
        return None


def _message(body: str | None) -> str:
    try:
        data = json.loads(body or "{}")
    except ValueError:
        return (body or "")[:200]
    contexts = [data.get("context") or {}, *((e.get("context") or {}) for e in data.get("errors") or [])]
    scopes = list(dict.fromkeys(s for c in contexts for name in ("missingScopes", "requiredGranularScopes")
                                for s in c.get(name) or []))
    text = data.get("message") or data.get("category") or ""
    return f"{text} (missing scopes: {', '.join(scopes)})" if scopes else text


class HubSpotPortal:
    """Every HubSpot call goes through `call`: budget token, timeout, error mapping, retry of what is safe."""

    def __init__(self, client: HubSpot, *, budget: HubSpotBudget, retry: RetrySettings, timeout: float,
                 count_call: Callable[[int], None], search_gate: RateGate | None = None):
        self.budget = budget
        self.retry = retry
        self.timeout = timeout
        self.count_call = count_call
        # The run's end on the budget's clock: 429s are waited out until then. Without a run, PATIENCE per call.
        self.deadline: float | None = None
        self.unavailable: PollerError | None = None  # HubSpot is out for the rest of this run, and why
        self.search_gate = search_gate or RateGate(None)
        # Built once: every attribute access on the SDK builds a new ApiClient and connection pool.
        self.tasks = client.crm.objects.tasks
        self.notes = client.crm.objects.notes
        self.deals = client.crm.deals
        self.owners = client.crm.owners.owners_api
        self.properties = client.crm.properties.core_api
        self.associations_batch = client.crm.associations.v4.batch_api
        self.tasks_batch, self.notes_batch = self.tasks.batch_api, self.notes.batch_api
        self.tasks_search, self.notes_search = self.tasks.search_api, self.notes.search_api
        self.deals_batch, self.deals_search = self.deals.batch_api, self.deals.search_api

    @classmethod
    def from_settings(cls, settings: Settings, *, budgets: Budgets, retry: RetrySettings,
                      count_call: Callable[..., None], search_gate: RateGate | None = None) -> HubSpotPortal:
        # No hidden retries in urllib3: tenacity is the one retry layer, and it never resends a create blindly.
        no_retry = Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False)
        client = HubSpot(access_token=settings.hubspot_access_token, host=settings.hubspot_base_url.rstrip("/"),
                         retry=no_retry)
        budget = HubSpotBudget(budgets, settings.hubspot_requests_per_10s)
        return cls(client, budget=budget, retry=retry, timeout=settings.http_timeout, count_call=count_call,
                   search_gate=search_gate)

    def start_run(self, seconds: float) -> None:
        """A run begins with `seconds` of time budget: HubSpot is worth trying again, and 429s are waited out."""
        self.deadline = self.budget.clock() + seconds
        self.unavailable = None

    def _out(self, exc: PollerError) -> PollerError:
        """HubSpot cannot be used for the rest of this run (daily limit, 429s past the budget, unreachable)."""
        self.unavailable = exc
        return exc

    def raise_if_unavailable(self) -> None:
        if self.unavailable is not None:
            raise type(self.unavailable)(str(self.unavailable))

    # --- the one call path
    def call(self, fn: Callable[..., Any], *args: Any, write: bool = False, **kwargs: Any) -> tuple[Any, int, Any]:
        """Call an SDK `*_with_http_info` method; returns (data, status, headers).

        Retried: refused connections (nothing was processed), and for reads also 5xx/timeouts. A ten-secondly 429 is
        waited out (Retry-After, else up to the rate-limit window) until the run's deadline; a daily one ends
        HubSpot's part of the run. For writes, a timeout, disconnect or 5xx raises UnknownOutcome: the caller looks
        the objects up (once they had time to settle) before resending.
        """

        searching = getattr(fn, "__name__", "").startswith("do_search")

        def attempt() -> tuple[Any, int, Any]:
            if searching:
                self.search_gate.wait()
            self.budget.acquire()
            self.count_call(1)
            try:
                data, status, headers = fn(*args, _request_timeout=(min(self.timeout, 10), self.timeout), **kwargs)
            except urllib3.exceptions.HTTPError as exc:
                if _refused(exc):
                    raise RetriableError(f"HubSpot connection refused: {exc}") from exc
                if write:
                    raise UnknownOutcome(f"{type(exc).__name__}: {exc}") from exc
                raise RetriableError(f"HubSpot {type(exc).__name__}") from exc
            except Exception as exc:
                status = getattr(exc, "status", None)
                if status is None or not hasattr(exc, "body"):
                    raise
                headers = getattr(exc, "headers", None)
                if status == 429:
                    self.budget.rate_limited()
                    if _policy(exc.body) == "DAILY":  # retrying only burns calls until the portal's midnight
                        raise DailyLimitReached("HubSpot's daily API limit is reached (429 DAILY); delivery "
                                                "resumes after midnight in the portal's time zone") from exc
                    raise _Throttled(headers) from exc
                if status >= 500 or status in (423, 477):
                    if write:
                        raise UnknownOutcome(f"HTTP {status}") from exc
                    raise RetriableError(f"HubSpot HTTP {status}") from exc
                if status in (401, 403):
                    raise TokenRefused(status, f"HubSpot refused the token (HTTP {status}): {_message(exc.body)}") from exc
                raise Rejected(status, exc.body) from exc
            self.budget.observe(headers)
            return data, status, headers

        self.raise_if_unavailable()  # no call: the answer would be the same
        waits = 0
        give_up_at = self.deadline
        while True:
            try:
                return call_with_retry(self.retry, attempt)
            except _Throttled as exc:
                # A ten-secondly 429 asks for seconds, not for the run to end: wait it out within the time budget.
                pause, now = wait_after_429(exc.headers, waits), self.budget.clock()
                give_up_at = give_up_at if give_up_at is not None else now + PATIENCE
                if now + pause > give_up_at:
                    raise self._out(BudgetExhausted(f"HubSpot rate limit (429): still limited after {waits + 1} "
                                                    "tries, and the run's time budget is spent")) from exc
                waits += 1
                log.info("HubSpot rate limit (429); waiting %.1f s before the same request", pause)
                self.budget.pause(pause)
            except DailyLimitReached as exc:
                self._out(exc)
                raise
            except RetriableError as exc:
                raise self._out(FatalError(f"{exc} (still failing after retries)")) from exc


def _refused(exc: Exception) -> bool:

    """A refused connection means the request never reached HubSpot, so it is safe to resend."""
    seen: BaseException | None = exc
    for _ in range(8):  # walk MaxRetryError.reason → NewConnectionError → ConnectionRefusedError
        if seen is None:
            return False
        if isinstance(seen, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return True
        seen = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
    return False
