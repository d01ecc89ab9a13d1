"""The Slack sink: each outbox row becomes one Block Kit message posted to an incoming webhook, paced to 1 a second.

A webhook cannot be asked what it posted, so nothing can be looked up: an uncertain post (a timeout, a 5xx, a crash
while `sending`) is posted again at once, at least once rather than maybe never (README: Sinks beyond HubSpot).
Rows go one per request, so an uncertain outcome never covers more than one message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from poller.budget.pace import RateGate
from poller.clock import monotonic
from poller.config.sinks import SinkSettings
from poller.delivery.cards import message, owner_names
from poller.delivery.routing import Owners
from poller.delivery.sink import BatchRefused, Sent, Verdict
from poller.errors import BudgetExhausted, FatalError, RetriableError
from poller.retry import RetrySettings, call_with_retry
from poller.slack.blocks import payload
from poller.slack.webhook import SlackBusy, SlackRefused, post
from poller.store.outbox import OutboxRow, Part

log = logging.getLogger(__name__)
PER_SECOND = 1.0  # Slack: 1 message a second per webhook, short bursts allowed
BUSY_WAITS = 5  # 429s waited out for one message before it is left for the next cycle


class SlackSink:
    """An incoming webhook as a sink: a message per row, posted write-ahead, never looked up (it cannot be)."""

    parts: tuple[Part, ...] = (Part.TASK,)  # one message per row: its state is the row's task state
    batch_size = 1
    personal = False  # a channel follows its own route
    settle_time = 0.0  # nothing to wait for: there is nothing to look up

    def __init__(self, config: SinkSettings, *, owners: Owners | None, deal_url: str | None, timeout: float,
                 run_time_budget: float, retry: RetrySettings, gate: RateGate,
                 count_call: Callable[[], None] = lambda: None, sleep: Callable[[float], object]):
        assert config.webhook_url is not None
        self.name = config.name
        self.label = f"Slack ({config.name})"
        self.route = config.route
        self._url = config.webhook_url
        self.owners, self.deal_url, self.timeout = owners, deal_url, timeout
        self.run_time_budget, self.retry, self.gate = run_time_budget, retry, gate
        self.count_call, self.sleep = count_call, sleep
        self.deadline = monotonic() + run_time_budget

    def begin_run(self) -> None:
        self.deadline = monotonic() + self.run_time_budget

    def prepare(self) -> None:
        return None

    def takes_owner(self, owner_id: str) -> bool:
        return self.route.takes_owner(owner_id)

    def needs_deal(self, part: Part) -> bool:
        return False  # a message needs no record to live on

    def settle_seconds(self, row: OutboxRow) -> float:
        return self.settle_time

    def rekey(self, part: Part) -> None:
        return None  # the key rides in the message's text: nothing can refuse it

    def find_by_keys(self, part: Part, rows: Sequence[OutboxRow]) -> dict[str, str]:
        return {}  # a webhook cannot be searched: an uncertain post counts as absent and goes again

    def send(self, part: Part, rows: Sequence[OutboxRow], now: dt.datetime) -> Sent:
        """Post the row's message (batch_size 1). Raises UnknownOutcome when it may have been posted, BatchRefused
        when Slack refused this message, FatalError when the webhook is unusable or unreachable, BudgetExhausted
        when Slack's 429s outlast the run."""
        (row,) = rows
        try:
            self._post(payload(message(row, owner_names(self.owners, row), self.deal_url)))
        except SlackRefused as exc:
            if exc.webhook:  # every message would be refused: the rows wait until the URL is fixed
                raise FatalError(f"{self.label}: {exc}; fix its webhook_url") from None
            raise BatchRefused(Verdict.FAILED, f"{self.label}: {exc}") from None
        return Sent(created={row["event_key"]: "ok"})  # Slack's whole answer: a webhook post has no id

    def _post(self, body: dict[str, object]) -> None:
        """One message, paced; a 429 is waited out (Retry-After) while the run's time allows."""
        for _ in range(BUSY_WAITS):
            self.gate.wait()
            self.count_call()  # a stop request ends the run here, before the request leaves
            try:
                call_with_retry(self.retry, lambda: post(self._url, body, timeout=self.timeout))
                return
            except SlackBusy as exc:
                if monotonic() + exc.retry_after > self.deadline:
                    raise BudgetExhausted(f"{self.label}: {exc}, past the run's time budget") from None
                log.info("%s: %s; waiting", self.label, exc)
                self.sleep(exc.retry_after)
            except RetriableError as exc:  # unreachable after retries: nothing was posted
                raise FatalError(f"{self.label}: {exc}") from None
        raise BudgetExhausted(f"{self.label}: still rate limited after {BUSY_WAITS} waits")
