"""A loopback SNS that an unmodified boto3 "sns" client publishes to: topics, Publish, PublishBatch, faults.

It keeps SNS's documented rules (botocore's model and the API reference): at most 10 entries per batch with
distinct Ids of up to 80 letters, digits, - and _; 256 KiB in all; a subject under 100 characters with no line
break or control character; at most 10 message attributes; on FIFO topics a MessageGroupId on every message and a
MessageDeduplicationId that drops a repeat within 5 minutes; on standard topics no deduplication id at all.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from poller.simulators.partner_central.validation import validate
from poller.simulators.server import LoopbackServer, Request, Response, Simulator
from poller.simulators.sns.wire import ServiceError, decode, form, result, service_model

BATCH_MAX = 10
BATCH_BYTES = 262_144
MESSAGE_BYTES = 262_144
ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
DEDUPLICATION_WINDOW = 300.0  # seconds
ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """A message as the topic's subscribers get it."""

    topic_arn: str
    message_id: str
    message: str
    subject: str | None
    attributes: dict[str, str]  # name → StringValue
    group_id: str | None
    deduplication_id: str | None
    at: float


@dataclass(slots=True, kw_only=True)
class _Topic:
    arn: str
    fifo: bool
    messages: list[Published] = field(default_factory=list)
    recent: dict[str, tuple[str, float]] = field(default_factory=dict)  # deduplication id → (message id, when)


class SnsSimulator(Simulator):
    """Topics in memory behind SNS's Query protocol, with fault injection and a record of what was published."""

    def __init__(self, port: int = 0, *, clock: Callable[[], float] | None = None):
        self._clock = clock
        self._lock = threading.RLock()
        self._topics: dict[str, _Topic] = {}
        self._failures: list[list[Any]] = []  # [code, status, times]
        self._drops = 0  # publish, then drop the connection (the client never hears back)
        self._entry_failures: list[list[Any]] = []  # [code, sender_fault, times]
        self._server = LoopbackServer(self, port)

    def now(self) -> float:
        return self._clock() if self._clock is not None else time.time()

    # --- seeding and inspection
    def create_topic(self, name: str) -> str:
        """A topic (FIFO when the name ends in .fifo); returns its ARN."""
        arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
        with self._lock:
            self._topics.setdefault(arn, _Topic(arn=arn, fifo=name.endswith(".fifo")))
        return arn

    def delete_topic(self, arn: str) -> None:
        with self._lock:
            self._topics.pop(arn, None)

    def messages(self, arn: str | None = None) -> list[Published]:
        with self._lock:
            return [m for t in self._topics.values() if arn in (None, t.arn) for m in t.messages]

    # --- faults
    def fail_next(self, code: str, status: int = 400, times: int = 1) -> None:
        """The next requests answer this error and publish nothing (Throttled 429, InternalError 500, …)."""
        with self._lock:
            self._failures.append([code, status, times])

    def publish_then_drop(self, times: int = 1) -> None:
        """The next requests publish, then the connection drops before the answer: the client cannot know."""
        with self._lock:
            self._drops += times

    def fail_entries(self, code: str = "InternalError", *, sender_fault: bool = False, times: int = 1) -> None:
        """The next `times` entries come back under Failed (not published), the rest of their batch goes through."""
        with self._lock:
            self._entry_failures.append([code, sender_fault, times])

    # --- the wire
    def handle(self, request: Request) -> Response:
        params = form(request.body)
        action = params.get("Action", "")
        with self._lock:
            try:
                if action not in ("Publish", "PublishBatch"):
                    raise ServiceError("InvalidAction", f"{action or 'no action'} is not valid for this endpoint")
                if self._failures:
                    code, status, _times = self._failures[0]
                    self._failures[0][2] -= 1
                    if self._failures[0][2] <= 0:
                        self._failures.pop(0)
                    raise ServiceError(code, "injected", status=status)
                operation = service_model().operation_model(action)
                assert operation.input_shape is not None
                values = decode(params, operation.input_shape)
                errors = validate(values, operation.input_shape)
                if errors:
                    raise ServiceError("InvalidParameter", f"Invalid parameter: {errors[0]['FieldName']}: "
                                                           f"{errors[0]['Message']}")
                answer = self._publish_batch(values) if action == "PublishBatch" else self._publish(values)
            except ServiceError as exc:
                return exc.response()
            if self._drops:
                self._drops -= 1
                return Response(status=200, drop=True)
            return result(action, answer)

    def _topic(self, arn: str | None) -> _Topic:
        topic = self._topics.get(arn or "")
        if topic is None:
            raise ServiceError("NotFound", "Topic does not exist", status=404)
        return topic

    def _publish(self, values: dict[str, Any]) -> dict[str, Any]:
        topic = self._topic(values.get("TopicArn"))
        problem = self._problem(topic, values)
        if problem:
            raise ServiceError("InvalidParameter", problem)
        return {"MessageId": self._store(topic, values)}

    def _publish_batch(self, values: dict[str, Any]) -> dict[str, Any]:
        topic = self._topic(values.get("TopicArn"))
        entries = values.get("PublishBatchRequestEntries") or []
        if not entries:
            raise ServiceError("EmptyBatchRequest", "The batch request doesn't contain any entries")
        if len(entries) > BATCH_MAX:
            raise ServiceError("TooManyEntriesInBatchRequest", f"The batch request contains more entries than "
                                                               f"permissible ({len(entries)} > {BATCH_MAX})")
        ids = [e.get("Id") or "" for e in entries]
        bad = next((i for i in ids if not ENTRY_ID.fullmatch(i)), None)
        if bad is not None:
            raise ServiceError("InvalidBatchEntryId", f"The Id of a batch entry is not valid: {bad!r}")
        if len(set(ids)) != len(ids):
            raise ServiceError("BatchEntryIdsNotDistinct", "Two or more batch entries have the same Id")
        if sum(len((e.get("Message") or "").encode()) for e in entries) > BATCH_BYTES:
            raise ServiceError("BatchRequestTooLong", "The length of all the batch messages put together is more "
                                                      "than the limit")
        successful, failed = [], []
        for item in entries:
            problem = self._problem(topic, item)
            injected = self._take_entry_failure()
            if problem:
                failed.append({"Id": item["Id"], "Code": "InvalidParameter", "Message": problem, "SenderFault": True})
            elif injected:
                failed.append({"Id": item["Id"], "Code": injected[0], "Message": "injected",
                               "SenderFault": injected[1]})
            else:
                successful.append({"Id": item["Id"], "MessageId": self._store(topic, item)})
        return {"Successful": successful, "Failed": failed}

    def _take_entry_failure(self) -> tuple[str, bool] | None:
        if not self._entry_failures:
            return None
        code, sender_fault, _times = self._entry_failures[0]
        self._entry_failures[0][2] -= 1
        if self._entry_failures[0][2] <= 0:
            self._entry_failures.pop(0)
        return code, sender_fault

    def _problem(self, topic: _Topic, item: dict[str, Any]) -> str | None:
        """Why SNS would refuse this message, or None."""
        message = item.get("Message") or ""
        subject = item.get("Subject")
        attributes = item.get("MessageAttributes") or {}
        if not message:
            return "Invalid parameter: Empty message"
        if len(message.encode()) > MESSAGE_BYTES:
            return "Invalid parameter: Message too long"
        if subject is not None and (not subject or len(subject) >= 100 or CONTROL.search(subject)):
            return "Invalid parameter: Subject"
        if len(attributes) > 10:
            return "Invalid parameter: Number of message attributes exceeds the limit of 10"
        for name, value in attributes.items():
            if not ATTRIBUTE_NAME.fullmatch(name) or name.startswith(("AWS.", "Amazon.")):
                return f"Invalid parameter: Message attribute name {name!r}"
            kind = (value or {}).get("DataType") or ""
            if kind.split(".")[0] not in ("String", "Number", "Binary"):
                return f"Invalid parameter: Message attribute {name!r} has an invalid data type"
            if kind.startswith(("String", "Number")) and not (value or {}).get("StringValue"):
                return f"Invalid parameter: Message attribute {name!r} must contain a non-empty value"
        if topic.fifo and not item.get("MessageGroupId"):
            return "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
        if topic.fifo and not item.get("MessageDeduplicationId"):
            return ("Invalid parameter: The topic should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly")
        if not topic.fifo and item.get("MessageDeduplicationId"):
            return ("Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId "
                    "parameter that is not valid for this topic type")
        return None

    def _store(self, topic: _Topic, item: dict[str, Any]) -> str:
        now = self.now()
        dedup = item.get("MessageDeduplicationId")
        if topic.fifo and dedup:
            seen = topic.recent.get(dedup)
            if seen is not None and now - seen[1] < DEDUPLICATION_WINDOW:
                return seen[0]  # accepted, not delivered again
        message_id = str(uuid.uuid4())
        if topic.fifo and dedup:
            topic.recent[dedup] = (message_id, now)
        attributes = {k: (v or {}).get("StringValue") or "" for k, v in (item.get("MessageAttributes") or {}).items()}
        topic.messages.append(Published(topic_arn=topic.arn, message_id=message_id, message=item["Message"],
                                        subject=item.get("Subject"), attributes=attributes,
                                        group_id=item.get("MessageGroupId"), deduplication_id=dedup, at=now))
        return message_id
