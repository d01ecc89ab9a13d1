"""A loopback Partner Central (awsJson 1.0) that an unmodified boto3 "partnercentral-selling" client talks to."""

from __future__ import annotations

import collections
import copy
import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Any

from poller.clock import utc_now
from poller.simulators.partner_central.faults import Faults
from poller.simulators.partner_central.ops import ReadOperations
from poller.simulators.partner_central.quota import ReadQuota
from poller.simulators.partner_central.store import StoredInvitation, StoredOpportunity
from poller.simulators.partner_central.validation import checked_params
from poller.simulators.partner_central.wire import (
    CATALOGS,
    READ_OPERATIONS,
    TARGET_PREFIX,
    ServiceError,
    deep_merge,
    json_response,
    normalize_times,
    service_model,
    shape,
    to_datetime,
    validation_error,
    wire_time,
)
from poller.simulators.server import LoopbackServer, Request, Response, Simulator

_OPPORTUNITY = shape("GetOpportunityResponse")
_AWS_SUMMARY = shape("GetAwsOpportunitySummaryResponse")
_INVITATION = shape("GetEngagementInvitationResponse")
_OPPORTUNITY_ID = re.compile(r"O[0-9]{1,19}")
_INVITATION_ID = re.compile(r"engi-[0-9a-z]{13}")
_INVITATION_LIFETIME = dt.timedelta(days=15)  # AWS referrals expire when not accepted within 15 days


def _target(request: Request) -> str:
    return next((value for name, value in request.headers.items() if name.lower() == "x-amz-target"), "")


def _operation(request: Request) -> str:
    target = _target(request)
    return target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""


class PartnerCentralSimulator(Simulator):
    """Opportunities, AWS summaries and engagement invitations in memory, served over HTTP, with fault injection."""

    def __init__(self, port: int = 0, *, reads_per_second: float | None = None,
                 clock: Callable[[], dt.datetime] | None = None):
        self._clock = clock or utc_now
        self._quota = ReadQuota(reads_per_second)
        self._lock = threading.RLock()
        self._opportunities: dict[str, StoredOpportunity] = {}
        self._invitations: dict[str, StoredInvitation] = {}
        self._faults = Faults()
        self._hook: Callable[[str], bool] | None = None
        self._operations = ReadOperations(self._opportunities, self._invitations).by_name()
        self._known_operations = frozenset(service_model().operation_names)
        self._server = LoopbackServer(self, port=port)

    # --- call record

    def operation_counts(self) -> collections.Counter[str]:
        return collections.Counter(call.target.removeprefix(TARGET_PREFIX) for call in list(self._server.calls))

    # --- opportunities and AWS summaries

    def put_opportunity(self, opportunity: dict[str, Any], aws_summary: dict[str, Any] | None = None, *,
                        catalog: str = "AWS") -> str:
        """Store (or replace) an opportunity in GetOpportunity shape; returns its Id."""
        opportunity_id = opportunity.get("Id")
        if not isinstance(opportunity_id, str) or not _OPPORTUNITY_ID.fullmatch(opportunity_id):
            raise ValueError(f"an opportunity needs an Id like O1234567, got {opportunity_id!r}")
        now = wire_time(self._now())
        record = dict(opportunity)  # normalize_times below makes the deep copy
        for key, default in (("Catalog", catalog), ("CreatedDate", now), ("LastModifiedDate", now),
                             ("RelatedEntityIdentifiers", {})):
            record.setdefault(key, default)
        stored = StoredOpportunity(catalog=record["Catalog"], record=normalize_times(record, _OPPORTUNITY),
                                   summary=self._summary(aws_summary))
        stored.refresh()
        with self._lock:
            self._opportunities[opportunity_id] = stored
        return opportunity_id

    def update_opportunity(self, opportunity_id: str, changes: dict[str, Any], *, touch: bool = True) -> None:
        """Deep-merge `changes`; touch=True moves LastModifiedDate strictly forward (an explicit value wins)."""
        if changes.get("Id", opportunity_id) != opportunity_id:
            raise ValueError("an opportunity's Id cannot change")
        with self._lock:
            stored = self._stored(opportunity_id)
            record = copy.deepcopy(stored.record)  # merge into a copy, so a rejected change leaves no trace
            deep_merge(record, changes)
            if touch and "LastModifiedDate" not in changes:
                record["LastModifiedDate"] = self._later_than(stored.modified)
            for required in ("Id", "Catalog", "CreatedDate", "LastModifiedDate"):
                if required not in record:
                    raise ValueError(f"{required} cannot be removed (use malform() for a broken record)")
            stored.record = normalize_times(record, _OPPORTUNITY)
            stored.refresh()

    def set_aws_summary(self, opportunity_id: str, summary: dict[str, Any] | None, *, touch: bool = False) -> None:
        """Replace the AWS-side view (None = not submitted yet: GetAwsOpportunitySummary answers not-found)."""
        with self._lock:
            stored = self._stored(opportunity_id)
            stored.summary = self._summary(summary)
            if touch:
                self._touch(stored)

    def update_aws_summary(self, opportunity_id: str, changes: dict[str, Any], *, touch: bool = False) -> None:
        """Deep-merge into the AWS summary; like the real service, this does not move LastModifiedDate by default."""
        with self._lock:
            stored = self._stored(opportunity_id)
            summary = copy.deepcopy(stored.summary or {})
            deep_merge(summary, changes)
            stored.summary = self._summary(summary)
            if touch:
                self._touch(stored)

    def remove_opportunity(self, opportunity_id: str) -> None:
        with self._lock:
            self._stored(opportunity_id)
            del self._opportunities[opportunity_id]

    def opportunity(self, opportunity_id: str) -> dict[str, Any]:
        """A deep copy of the stored record (timestamps as wire strings)."""
        with self._lock:
            return copy.deepcopy(self._stored(opportunity_id).record)

    def aws_summary(self, opportunity_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._stored(opportunity_id).summary)

    # --- engagement invitations

    def put_invitation(self, invitation: dict[str, Any], *, catalog: str = "AWS") -> str:
        """Store (or replace) an invitation in GetEngagementInvitation shape, with AWS-referral defaults."""
        invitation_id = invitation.get("Id")
        if not isinstance(invitation_id, str) or not _INVITATION_ID.fullmatch(invitation_id):
            raise ValueError(f"an invitation needs an Id like engi-0123456789abc, got {invitation_id!r}")
        record = dict(invitation)
        invited = to_datetime(record.get("InvitationDate") or self._now())
        for key, default in (("Catalog", catalog), ("Status", "PENDING"), ("PayloadType", "OpportunityInvitation"),
                             ("ParticipantType", "RECEIVER"), ("SenderCompanyName", "AWS"),
                             ("InvitationDate", invited), ("ExpirationDate", invited + _INVITATION_LIFETIME)):
            record.setdefault(key, default)
        stored = StoredInvitation(catalog=record["Catalog"], record=normalize_times(record, _INVITATION))
        stored.refresh()
        with self._lock:
            self._invitations[invitation_id] = stored
        return invitation_id

    def set_invitation_status(self, invitation_id: str, status: str) -> None:
        with self._lock:
            if invitation_id not in self._invitations:
                raise KeyError(f"no invitation {invitation_id}")
            self._invitations[invitation_id].record["Status"] = status

    def invitation(self, invitation_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._invitations[invitation_id].record)

    # --- faults

    def fail_next(self, operation: str, error_type: str = "ThrottlingException", *, times: int = 1,
                  status: int | None = None, message: str = "Rate exceeded", identifier: str | None = None) -> None:
        """The next `times` calls of `operation` ("*" = any) fail; status defaults to 500 for InternalServerException.

        With `identifier`, only calls about that record fail (e.g. GetAwsOpportunitySummary of one opportunity).
        """
        if status is None:
            status = 500 if error_type == "InternalServerException" else 400
        with self._lock:
            self._faults.fail_next(operation, error_type, times=times, status=status, message=message,
                                   identifier=identifier)

    def answer_next(self, operation: str, body: bytes | str) -> None:
        """The next call of `operation` ("*" = any) answers HTTP 200 with exactly this body (not JSON, a page whose
        list is not an array, a NextToken that is an object, …): what no record-level fault can break."""
        with self._lock:
            self._faults.answer_next(operation, body.encode() if isinstance(body, str) else body)

    def malform(self, opportunity_id: str) -> None:
        """GetOpportunity answers a structurally broken record (no Id, LastModifiedDate or Customer; Project {}).

        The record still parses in botocore (a wrong type would make botocore fail the whole response), so it is the
        poller's own checks that must reject it. ListOpportunities keeps listing it normally.
        """
        with self._lock:
            self._stored(opportunity_id).malformed = True

    def garble(self, record_id: str, operation: str, **fields: Any) -> None:
        """`operation`'s answers about this opportunity or invitation carry `fields` verbatim, unshaped.

        For what botocore itself cannot parse: a wrong-typed structure (LifeCycle="oops", Insights=5), an unreadable
        timestamp (LastModifiedDate="not-a-date", in one ListOpportunities item or a Get answer), a union that is
        not one (Payload="garbage"), text no store can hold ("\ud800"); None sends null, which reads as absent.
        Unlike malform(), whose records parse and only the poller's own checks reject.
        """
        with self._lock:
            stored = self._invitations.get(record_id) or self._stored(record_id)
            stored.raw.setdefault(operation, {}).update(fields)

    def serve_verbatim(self, record_id: str, operation: str, answer: dict[str, Any]) -> None:
        """`operation` answers exactly `answer` about this record (its listing item, for a List operation).

        For generated answers (the fuzz test): listings still filter and sort by the stored record.
        """
        with self._lock:
            stored = self._invitations.get(record_id) or self._stored(record_id)
            stored.verbatim[operation] = answer

    def heal(self, record_id: str) -> None:
        """Answer normally again: undo malform(), garble() and serve_verbatim()."""
        with self._lock:
            if record_id in self._invitations:
                self._invitations[record_id].raw.clear()
                self._invitations[record_id].verbatim.clear()
                return
            stored = self._stored(record_id)
            stored.malformed = False
            stored.raw.clear()
            stored.verbatim.clear()

    # --- HTTP

    def on_call(self, hook: Callable[[str], bool] | None) -> None:
        """Call `hook(operation)` before answering each request; True drops the connection unanswered.

        Crash tests use it to SIGKILL a job at an exact call, e.g. the 40th GetOpportunity of a cycle.
        """
        self._hook = hook

    def handle(self, request: Request) -> Response:
        if self._hook is not None and self._hook(_target(request).removeprefix(TARGET_PREFIX)):
            return Response(status=0, drop=True)
        try:
            answer = self._answer(request)
        except ServiceError as exc:
            return exc.response()
        with self._lock:
            raw = self._faults.raw_body(_operation(request))
        return raw or json_response(200, answer)

    def _answer(self, request: Request) -> dict[str, Any]:
        target, operation = _target(request), _operation(request)
        with self._lock:
            self._faults.raise_error(operation, request)
            if operation not in self._known_operations:
                raise ServiceError("UnknownOperationException", f"unknown target {target!r}")
            if operation in READ_OPERATIONS:
                self._quota.admit()
        params = checked_params(request, service_model().operation_model(operation))
        if "Catalog" in params and params["Catalog"] not in CATALOGS:
            raise validation_error([{"FieldName": "Catalog", "Code": "INVALID_ENUM_VALUE",
                                     "Message": f"{params['Catalog']!r} is not one of {', '.join(CATALOGS)}"}])
        answer = self._operations.get(operation)
        if answer is None:
            raise ServiceError("UnknownOperationException", f"{operation} is not simulated")
        with self._lock:
            return answer(params)

    # --- helpers

    def _now(self) -> dt.datetime:
        return to_datetime(self._clock())

    def _later_than(self, previous: dt.datetime) -> str:
        """Clock now, but never at or before `previous`: every touch must be visible to a LastModifiedDate cursor."""
        return wire_time(max(self._now(), previous + dt.timedelta(milliseconds=1)))

    def _touch(self, stored: StoredOpportunity) -> None:
        stored.record["LastModifiedDate"] = self._later_than(stored.modified)
        stored.refresh()

    def _stored(self, opportunity_id: str) -> StoredOpportunity:
        try:
            return self._opportunities[opportunity_id]
        except KeyError:
            raise KeyError(f"no opportunity {opportunity_id}") from None

    @staticmethod
    def _summary(summary: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if summary is None else normalize_times(summary, _AWS_SUMMARY)
