"""The Benefits simulator's records: ids, ARNs, and how its list operations filter, sort and page them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

SERVICE = "partnercentral-benefits"
TARGET_PREFIX = "PartnerCentralBenefitsService."
ACCOUNT = "123456789012"  # the partner's AWS account in the ARNs the simulator makes
_serial = itertools.count(1)


def new_id(prefix: str) -> str:
    """`benappl-…` / `benalloc-…`: the model's id patterns (14 lower-case letters or digits)."""
    return f"{prefix}-{next(_serial):014d}"


def opportunity_arn(opportunity_id: str, catalog: str = "AWS") -> str:
    """The ARN a benefit application names its opportunity by (reference: catalog/<Catalog>/opportunity/<Id>)."""
    return f"arn:aws:partnercentral:us-east-1:{ACCOUNT}:catalog/{catalog}/opportunity/{opportunity_id}"


def record_arn(kind: str, record_id: str, catalog: str) -> str:
    return f"arn:aws:partnercentral:us-east-1:{ACCOUNT}:catalog/{catalog}/{kind}/{record_id}"


def _opportunity_ids(arns: Iterable[str]) -> set[str]:
    return {arn.rsplit("/", 1)[-1] for arn in arns if "/opportunity/" in arn}


def select_applications(records: Iterable[dict[str, Any]], params: dict[str, Any]) -> list[str]:
    """Ids of the applications ListBenefitApplications answers for `params`, oldest first."""
    statuses, stages = set(params.get("Status") or ()), set(params.get("Stages") or ())
    programs, benefits = set(params.get("Programs") or ()), set(params.get("BenefitIdentifiers") or ())
    kinds = set(params.get("FulfillmentTypes") or ())
    wanted = {r.get("ResourceIdentifier") for r in params.get("AssociatedResources") or ()
              if r.get("ResourceType") == "OPPORTUNITY"} | set(params.get("AssociatedResourceArns") or ())
    chosen = []
    for record in records:
        if record["Catalog"] != params["Catalog"]:
            continue
        if (statuses and record.get("Status") not in statuses) or (stages and record.get("Stage") not in stages):
            continue
        if (programs and not programs & set(record.get("Programs") or ())) or \
                (benefits and record.get("BenefitId") not in benefits) or \
                (kinds and not kinds & set(record.get("FulfillmentTypes") or ())):
            continue
        resources = set(record.get("AssociatedResources") or ())
        if wanted and not wanted & (resources | _opportunity_ids(resources)):
            continue
        chosen.append(record)
    chosen.sort(key=lambda r: (r["CreatedAt"], r["Id"]))
    return [r["Id"] for r in chosen]


def select_allocations(records: Iterable[dict[str, Any]], params: dict[str, Any]) -> list[str]:
    """Ids of the allocations ListBenefitAllocations answers for `params`, oldest first."""
    statuses, kinds = set(params.get("Status") or ()), set(params.get("FulfillmentTypes") or ())
    applications, benefits = set(params.get("BenefitApplicationIdentifiers") or ()), set(params.get("BenefitIdentifiers") or ())
    chosen = [r for r in records if r["Catalog"] == params["Catalog"]
              and (not statuses or r.get("Status") in statuses)
              and (not kinds or r.get("FulfillmentType") in kinds)
              and (not applications or r.get("BenefitApplicationId") in applications)
              and (not benefits or r.get("BenefitId") in benefits)]
    chosen.sort(key=lambda r: (r["CreatedAt"], r["Id"]))
    return [r["Id"] for r in chosen]
