"""Partner Central adapter: a real boto3 `partnercentral-selling` client, paced, retried, errors mapped to ours."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from poller.budget.pace import RateGate
from poller.core.timefmt import parse_iso, parse_utc_wire
from poller.core.wire import UNREADABLE, UnreadableItem
from poller.errors import BudgetExhausted, FatalError, MalformedRecord, RateLimited, RetriableError
from poller.partner_central.answers import SET_ASIDE, AnswerCheck
from poller.retry import RetrySettings, call_with_retry

log = logging.getLogger(__name__)

PAGE_SIZE = 100
THROTTLING_CODES = {"ThrottlingException", "TooManyRequestsException", "429"}
RETRIABLE_CODES = THROTTLING_CODES | {"InternalServerException", "ServiceUnavailable", "RequestTimeout",
                                      "500", "502", "503", "504"}
GONE_CODES = {"ResourceNotFoundException", "AccessDeniedException"}
_EPOCH_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def parse_timestamp(value: Any) -> dt.datetime:
    """A response timestamp as aware UTC. The model's format is ISO 8601: the service's own UTC forms the fast way
    (botocore's dateutil parser dominates large listings), other ISO forms, and epoch seconds (a number, or its
    digits as text) as botocore reads them; nothing else.

    botocore's own parser would also take free text such as "March" or "5 pm" as a date relative to today.
    """
    if isinstance(value, str):
        fast = parse_utc_wire(value)
        if fast is not None:
            return fast
        if _EPOCH_TEXT.fullmatch(value):
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        return parse_iso(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    raise TypeError(f"not a timestamp: {type(value).__name__}")


def make_client(*, timeout: float) -> Any:
    """boto3 client; endpoint from boto3's own chain (AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING), botocore retries off."""
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=min(timeout, 10), read_timeout=timeout)
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    return boto3.Session(botocore_session=core).client("partnercentral-selling", region_name="us-east-1", config=config)


class PartnerCentral:
    """The reads the cycle needs, each one paced by `gate`, counted by `count_call`, retried by `retry`."""

    def __init__(self, client: Any, *, catalog: str, gate: RateGate, retry: RetrySettings,
                 count_call: Callable[[str], None] = lambda op: None):
        self.client = client
        self.catalog = catalog
        self.gate = gate
        self.retry = retry
        self.count_call = count_call
        if hasattr(client, "meta"):  # every answer is checked against the model before botocore parses it
            AnswerCheck(parse_timestamp).register(client)

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self.client, _snake(operation))

        def attempt() -> dict[str, Any]:
            self.gate.wait()
            self.count_call(operation)
            try:
                response = method(Catalog=self.catalog, **params)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code in THROTTLING_CODES or status == 429:
                    raise RateLimited(f"Partner Central {operation}: {code}") from exc
                if code in RETRIABLE_CODES or status >= 500:
                    raise RetriableError(f"Partner Central {operation}: {code}") from exc
                raise _Permanent(operation, code, exc.response.get("Error", {}).get("Message", "")) from exc
            except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError) as exc:
                raise RetriableError(f"Partner Central {operation}: {type(exc).__name__}") from exc
            except NoCredentialsError as exc:
                raise FatalError("Partner Central: no AWS credentials found (boto3 credential chain)") from exc
            except BotoCoreError as exc:
                raise FatalError(f"Partner Central {operation}: {exc}") from exc
            except (ResponseParserError, ValueError, TypeError, AttributeError, OverflowError) as exc:
                # An answer that does not fit the model (AnswerCheck names the member): the same answer would come
                # again, so it is not retried. The other types are botocore's own parser failing, as a last resort.
                raise _Permanent(operation, "UnparseableResponse", " ".join(str(exc).split())) from exc
            response.pop("ResponseMetadata", None)
            return response

        try:
            return call_with_retry(self.retry, attempt)
        except RateLimited as exc:
            # The account's read quota, not an outage: reading stops like a spent budget; the next cycle goes on.
            log.warning("%s: still throttled after retries; this reading phase stops, the next cycle continues", exc)
            raise BudgetExhausted(f"{exc}: still throttled after retries") from exc
        except RetriableError as exc:
            raise FatalError(f"{exc} (still failing after retries)") from exc

    def list_opportunities(self, since: str | None, until: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """Pages of opportunity summaries modified at or after `since` (all when None), up to `until`, oldest first."""
        params: dict[str, Any] = {"MaxResults": PAGE_SIZE, "Sort": {"SortBy": "LastModifiedDate", "SortOrder": "ASCENDING"}}
        window = {"AfterLastModifiedDate": since, "BeforeLastModifiedDate": until}
        if since or until:  # both bounds are inclusive
            params["LastModifiedDate"] = {k: v for k, v in window.items() if v}
        yield from self._pages("ListOpportunities", "OpportunitySummaries", params)

    def list_invitations(self) -> Iterator[list[dict[str, Any]]]:
        """Pages of opportunity invitations received from AWS, newest first."""
        params = {"ParticipantType": "RECEIVER", "PayloadType": ["OpportunityInvitation"], "MaxResults": PAGE_SIZE,
                  "Sort": {"SortBy": "InvitationDate", "SortOrder": "DESCENDING"}}
        yield from self._pages("ListEngagementInvitations", "EngagementInvitationSummaries", params)

    def _pages(self, operation: str, key: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        token: str | None = None
        seen: set[str] = set()
        while True:
            try:
                response = self._call(operation, **params, **({"NextToken": token} if token else {}))
            except _Permanent as exc:
                raise FatalError(str(exc)) from exc
            # Items the answer check set aside come along as markers, so the caller names each one.
            yield [*(response.get(key) or []), *(_marker(operation, u) for u in response.get(SET_ASIDE) or [])]
            token = response.get("NextToken") or None
            if token is None:
                return
            if token in seen:  # a repeated token would loop forever
                raise FatalError(f"Partner Central {operation}: the same NextToken came back twice")
            seen.add(token)

    def get_opportunity(self, opportunity_id: str) -> dict[str, Any] | None:
        """The full opportunity, or None when it is gone or no longer visible to us."""
        return _for(opportunity_id, "Id", self._get("GetOpportunity", Identifier=opportunity_id))

    def get_aws_summary(self, opportunity_id: str) -> dict[str, Any] | None:
        """AWS's view of the opportunity, or None before submission ("no AWS view yet" is not an error)."""
        return _for(opportunity_id, "RelatedOpportunityId",
                    self._get("GetAwsOpportunitySummary", RelatedOpportunityIdentifier=opportunity_id))

    def get_invitation(self, invitation_id: str) -> dict[str, Any] | None:
        return self._get("GetEngagementInvitation", Identifier=invitation_id)

    def _get(self, operation: str, **params: Any) -> dict[str, Any] | None:
        try:
            return self._call(operation, **params)
        except _Permanent as exc:
            if exc.code in GONE_CODES or (exc.code == "ValidationException" and operation == "GetAwsOpportunitySummary"):
                return None
            # Refused for this one record only: skip it and read it again next cycle, don't fail the cycle.
            raise MalformedRecord(str(next(iter(params.values()))), str(exc)) from exc


class _Permanent(Exception):
    """An answer the service will give the same way again: a 4xx (not found, denied, invalid) or one we can't parse."""

    def __init__(self, operation: str, code: str, message: str):
        super().__init__(f"Partner Central {operation}: {code}: {message}")
        self.code = code


def _for(asked: str, field: str, answer: dict[str, Any] | None) -> dict[str, Any] | None:
    """The answer, if it is about the record asked for: one naming another id is malformed (skipped, read again)."""
    named = answer.get(field) if isinstance(answer, dict) else None
    if named not in (None, "") and (not isinstance(named, str) or named.strip() != asked):
        raise MalformedRecord(asked, f"the answer is for {field} {named!r}, not {asked!r}")
    return answer


def _marker(operation: str, item: dict[str, Any]) -> dict[str, Any]:
    reason = f"{operation} item: {item['Reason']}"
    return {UNREADABLE: UnreadableItem(record_id=item["Id"], name=item["Name"], reason=reason)}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
