"""The SNS sink: outbox rows published to a topic in PublishBatch calls of up to 10, each entry's Id its event key.

SNS cannot be asked what was published either. An uncertain batch (a timeout, a 5xx, a crash while `sending`) is
published again at once: on a FIFO topic the MessageDeduplicationId (the event key) makes SNS drop the repeat within
its 5-minute window, so subscribers get it once; on a standard topic they may get it twice and deduplicate on the
`event_key` attribute (README: Sinks beyond HubSpot).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
)

from poller.config.sinks import SinkSettings
from poller.delivery.cards import message, owner_names
from poller.delivery.routing import Owners
from poller.delivery.sink import BatchRefused, Refusal, Sent, Verdict
from poller.errors import BudgetExhausted, FatalError, RateLimited, RetriableError, UnknownOutcome
from poller.retry import RetrySettings, call_with_retry
from poller.sns.message import entry
from poller.store.outbox import OutboxRow, Part

THROTTLED = {"Throttled", "Throttling", "ThrottlingException", "KMSThrottling", "RequestThrottled", "TooManyRequests"}
# The topic, its key or our credentials are unusable: every batch would be refused until someone fixes it.
UNUSABLE = {"NotFound", "AuthorizationError", "AccessDenied", "InvalidClientTokenId", "SignatureDoesNotMatch",
            "ExpiredToken", "InvalidSecurity", "KMSDisabled", "KMSInvalidState", "KMSNotFound", "KMSOptInRequired",
            "KMSAccessDenied", "EndpointDisabled"}


def make_client(topic_arn: str, *, timeout: float) -> Any:
    """boto3 `sns` in the topic's own region; endpoint from boto3's chain (AWS_ENDPOINT_URL_SNS); retries off."""
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=min(timeout, 10), read_timeout=timeout)
    return boto3.session.Session().client("sns", region_name=topic_arn.split(":")[3], config=config)


class SnsSink:
    """A topic as a sink: a message per row, ten rows per PublishBatch, never looked up (it cannot be)."""

    parts: tuple[Part, ...] = (Part.TASK,)  # one message per row: its state is the row's task state
    batch_size = 10  # PublishBatch's limit
    personal = False  # a topic follows its own route
    settle_time = 0.0  # republished at once: inside a FIFO topic's 5-minute deduplication window

    def __init__(self, config: SinkSettings, client: Any, *, owners: Owners | None, deal_url: str | None,
                 retry: RetrySettings, count_call: Callable[[], None] = lambda: None):
        assert config.topic_arn is not None
        self.name = config.name
        self.label = f"SNS ({config.name})"
        self.route = config.route
        self.topic_arn, self.fifo = config.topic_arn, config.fifo
        self.client, self.owners, self.deal_url = client, owners, deal_url
        self.retry, self.count_call = retry, count_call

    def begin_run(self) -> None:
        return None

    def prepare(self) -> None:
        return None

    def takes_owner(self, owner_id: str) -> bool:
        return self.route.takes_owner(owner_id)

    def needs_deal(self, part: Part) -> bool:
        return False

    def settle_seconds(self, row: OutboxRow) -> float:
        return self.settle_time

    def rekey(self, part: Part) -> None:
        return None

    def find_by_keys(self, part: Part, rows: Sequence[OutboxRow]) -> dict[str, str]:
        return {}  # a topic cannot be searched: an uncertain publish counts as absent and goes again

    def send(self, part: Part, rows: Sequence[OutboxRow], now: dt.datetime) -> Sent:
        entries = [entry(message(row, owner_names(self.owners, row), self.deal_url), fifo=self.fifo) for row in rows]
        try:
            answer = call_with_retry(self.retry, lambda: self._publish(entries))
        except RateLimited as exc:  # nothing was published: the rows wait for the next cycle
            raise BudgetExhausted(f"{exc} (still throttled after retries)") from None
        except RetriableError as exc:
            raise FatalError(str(exc)) from None
        created = {str(item["Id"]): str(item.get("MessageId") or "published") for item in answer.get("Successful", [])}
        refused = {str(item["Id"]): Refusal(Verdict.FAILED if item.get("SenderFault") else Verdict.RETRY,
                                            f"{item.get('Code')}: {item.get('Message') or 'no message'}")
                   for item in answer.get("Failed", [])}
        return Sent(created=created, refused=refused)

    def _publish(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.count_call()  # a stop request ends the run here, before the request leaves
        try:
            return dict(self.client.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=entries))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            text = f"{self.label}: {code or status}: {error.get('Message') or 'no message'}"
            if code in THROTTLED or status == 429:
                raise RateLimited(text) from None  # nothing was published: tenacity waits and sends it again
            if status >= 500 or code in ("InternalError", "ServiceUnavailable"):
                raise UnknownOutcome(text) from None  # maybe published
            if code.removesuffix("Exception") in UNUSABLE:
                raise FatalError(f"{text}; the rows wait until the topic can be used") from None
            # A batch refused whole published nothing, and may name only its first bad entry: halve it.
            raise BatchRefused(Verdict.SPLIT, text) from None
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise RetriableError(f"{self.label}: SNS unreachable ({exc})") from None  # nothing went out
        except NoCredentialsError:
            raise FatalError(f"{self.label}: no AWS credentials (boto3's chain found none)") from None
        except BotoCoreError as exc:  # a read timeout, a dropped connection, an unreadable answer: maybe published
            raise UnknownOutcome(f"{self.label}: {type(exc).__name__}: {exc}") from None
