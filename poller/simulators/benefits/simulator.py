"""A loopback Partner Central Benefits (awsJson 1.0) that an unmodified boto3 "partnercentral-benefits" client talks to."""

from __future__ import annotations

import collections
import copy
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from poller.clock import utc_now
from poller.simulators.benefits.records import (
    SERVICE,
    TARGET_PREFIX,
    new_id,
    record_arn,
    select_allocations,
    select_applications,
)
from poller.simulators.partner_central.faults import Faults
from poller.simulators.partner_central.store import Pager
from poller.simulators.partner_central.validation import checked_params
from poller.simulators.partner_central.wire import (
    ServiceError,
    deep_merge,
    json_response,
    normalize_times,
    not_found,
    project,
    service_model,
    shape,
)
from poller.simulators.server import LoopbackServer, Request, Response, Simulator

_APPLICATION = shape("GetBenefitApplicationOutput", SERVICE)
_APPLICATION_SUMMARY = shape("BenefitApplicationSummary", SERVICE)
_ALLOCATION = shape("GetBenefitAllocationOutput", SERVICE)
_ALLOCATION_SUMMARY = shape("BenefitAllocationSummary", SERVICE)
DEFAULT_PAGE_SIZE = 20


def _operation(request: Request) -> str:
    target = next((v for k, v in request.headers.items() if k.lower() == "x-amz-target"), "")
    return target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""


class BenefitsSimulator(Simulator):
    """Benefit applications (linked to opportunities by ARN) and their allocations in memory, with fault injection."""

    def __init__(self, port: int = 0, *, clock: Callable[[], dt.datetime] | None = None):
        self._clock = clock or utc_now
        self._lock = threading.RLock()
        self._applications: dict[str, dict[str, Any]] = {}
        self._allocations: dict[str, dict[str, Any]] = {}
        self._faults = Faults()
        self._pager = Pager()
        self._known = frozenset(service_model(SERVICE).operation_names)
        self._server = LoopbackServer(self, port=port)

    def operation_counts(self) -> collections.Counter[str]:
        return collections.Counter(call.target.removeprefix(TARGET_PREFIX) for call in list(self._server.calls))

    # --- records (GetBenefitApplication / GetBenefitAllocation shape)

    def put_application(self, application: dict[str, Any], *, catalog: str = "AWS") -> str:
        """Store (or replace) an application; returns its Id (made when absent). AssociatedResources: ARNs."""
        record = dict(application)
        record.setdefault("Id", new_id("benappl"))
        now = self._clock()
        for key, default in (("Catalog", catalog), ("Status", "IN_REVIEW"), ("CreatedAt", now), ("UpdatedAt", now),
                             ("Arn", record_arn("benefit-application", record["Id"], catalog)),
                             ("BenefitId", "ben-00000000000001"), ("Programs", ["MAP"]),
                             ("FulfillmentTypes", ["CREDITS"])):
            record.setdefault(key, default)
        with self._lock:
            self._applications[record["Id"]] = normalize_times(record, _APPLICATION)
        return str(record["Id"])

    def update_application(self, application_id: str, changes: dict[str, Any]) -> None:
        """Deep-merge `changes` (e.g. {"Status": "APPROVED"}); UpdatedAt moves to now, as AWS's would."""
        with self._lock:
            record = copy.deepcopy(self._applications[application_id])
            deep_merge(record, changes)
            if "UpdatedAt" not in changes:
                record["UpdatedAt"] = self._clock()
            self._applications[application_id] = normalize_times(record, _APPLICATION)

    def put_allocation(self, allocation: dict[str, Any], *, catalog: str = "AWS") -> str:
        """Store (or replace) an allocation of an application's benefit; returns its Id (made when absent)."""
        record = dict(allocation)
        record.setdefault("Id", new_id("benalloc"))
        now = self._clock()
        for key, default in (("Catalog", catalog), ("Status", "ACTIVE"), ("CreatedAt", now), ("UpdatedAt", now),
                             ("Arn", record_arn("benefit-allocation", record["Id"], catalog)),
                             ("FulfillmentType", "CREDITS"), ("BenefitId", "ben-00000000000001")):
            record.setdefault(key, default)
        with self._lock:
            self._allocations[record["Id"]] = normalize_times(record, _ALLOCATION)
        return str(record["Id"])

    def application(self, application_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._applications[application_id])

    # --- faults

    def fail_next(self, operation: str, error_type: str = "ThrottlingException", *, times: int = 1,
                  status: int | None = None, message: str = "Rate exceeded") -> None:
        """The next `times` calls of `operation` ("*" = any) answer this error (AccessDeniedException: not enrolled)."""
        with self._lock:
            self._faults.fail_next(operation, error_type, times=times, status=status or
                                   (500 if error_type == "InternalServerException" else 400),
                                   message=message, identifier=None)

    # --- HTTP

    def handle(self, request: Request) -> Response:
        try:
            return json_response(200, self._answer(request))
        except ServiceError as exc:
            return exc.response()

    def _answer(self, request: Request) -> dict[str, Any]:
        operation = _operation(request)
        with self._lock:
            self._faults.raise_error(operation, request)
        if operation not in self._known:
            raise ServiceError("UnknownOperationException", f"unknown operation {operation!r}")
        params = checked_params(request, service_model(SERVICE).operation_model(operation))
        answer = {"ListBenefitApplications": self._list_applications, "GetBenefitApplication": self._get_application,
                  "ListBenefitAllocations": self._list_allocations,
                  "GetBenefitAllocation": self._get_allocation}.get(operation)
        if answer is None:
            raise ServiceError("UnknownOperationException", f"{operation} is not simulated")
        with self._lock:
            return answer(params)

    def _page(self, operation: str, params: dict[str, Any], select: Callable[[], list[str]]) -> tuple[list[str], str | None]:
        if token := params.get("NextToken"):
            ids, offset = self._pager.resume(operation, token)
        else:
            ids, offset = select(), 0
        return self._pager.page(operation, ids, offset, params.get("MaxResults", DEFAULT_PAGE_SIZE))

    def _list_applications(self, params: dict[str, Any]) -> dict[str, Any]:
        page, token = self._page("ListBenefitApplications", params,
                                 lambda: select_applications(self._applications.values(), params))
        items = [project(self._applications[i], _APPLICATION_SUMMARY) for i in page if i in self._applications]
        return {"BenefitApplicationSummaries": items, **({"NextToken": token} if token else {})}

    def _list_allocations(self, params: dict[str, Any]) -> dict[str, Any]:
        page, token = self._page("ListBenefitAllocations", params,
                                 lambda: select_allocations(self._allocations.values(), params))
        items = [{**project(self._allocations[i], _ALLOCATION_SUMMARY),
                  "FulfillmentTypes": [self._allocations[i]["FulfillmentType"]]}
                 for i in page if i in self._allocations]
        return {"BenefitAllocationSummaries": items, **({"NextToken": token} if token else {})}

    def _get_application(self, params: dict[str, Any]) -> dict[str, Any]:
        return project(self._find(self._applications, params), _APPLICATION)

    def _get_allocation(self, params: dict[str, Any]) -> dict[str, Any]:
        return project(self._find(self._allocations, params), _ALLOCATION)

    @staticmethod
    def _find(records: dict[str, dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        wanted = params["Identifier"]
        for record in records.values():
            if record["Catalog"] == params["Catalog"] and wanted in (record["Id"], record.get("Arn")):
                return record
        raise not_found(f"{wanted} not found in catalog {params['Catalog']}")
