"""Partner Central access, checked: one cheap call per IAM action the job uses, each failure naming the action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from poller.config import Check, Settings
from poller.partner_central.client import make_client

# Everything the job calls in Partner Central (poller/partner_central/client.py): the least-privilege IAM policy.
IAM_ACTIONS = (
    "partnercentral:ListOpportunities",
    "partnercentral:GetOpportunity",
    "partnercentral:GetAwsOpportunitySummary",
    "partnercentral:ListEngagementInvitations",
    "partnercentral:GetEngagementInvitation",
)
CREDENTIAL_CODES = {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                    "SignatureDoesNotMatch", "ExpiredTokenException", "ExpiredToken", "IncompleteSignature"}


def check_partner_central(settings: Settings, client: Any = None) -> list[Check]:
    """ListOpportunities and ListEngagementInvitations (MaxResults=1); then a Get of what they listed, if anything."""
    import boto3

    system = "Partner Central"
    if client is None:
        if boto3.Session().get_credentials() is None:
            return [Check(system=system, name="AWS credentials", ok=False,
                          detail="none found (environment, profile, SSO or role: boto3's credential chain)")]
        client = make_client(timeout=min(settings.http_timeout, 15.0))
    checks: list[Check] = []
    catalog = settings.catalog

    def call(operation: str, fn: Callable[[], dict[str, Any]], absent_ok: bool = False) -> dict[str, Any] | None:
        try:
            response = fn()
        except Exception as exc:  # every failure becomes one FAIL line naming the permission
            code = _aws_code(exc)
            if absent_ok and code in ("ResourceNotFoundException", "ValidationException"):
                checks.append(Check(system=system, name=operation, ok=True, detail="allowed (nothing to read yet)"))
                return None
            checks.append(Check(system=system, name=operation, ok=False, detail=_pc_failure(operation, exc)))
            return None
        checks.append(Check(system=system, name=operation, ok=True, detail=f"allowed (catalog {catalog})"))
        return response

    listed = call("ListOpportunities", lambda: client.list_opportunities(Catalog=catalog, MaxResults=1))
    if listed is not None:
        items = listed.get("OpportunitySummaries") or []
        if items and items[0].get("Id"):
            oid = items[0]["Id"]
            call("GetOpportunity", lambda: client.get_opportunity(Catalog=catalog, Identifier=oid))
            call("GetAwsOpportunitySummary", lambda: client.get_aws_opportunity_summary(
                Catalog=catalog, RelatedOpportunityIdentifier=oid), absent_ok=True)
        else:
            checks.append(Check(system=system, name="GetOpportunity", ok=True,
                                detail="not checked: no opportunity in this catalog yet"))
    if checks and not checks[0].ok and "credentials" in checks[0].detail:
        return checks  # the same answer for every other call
    invitations = call("ListEngagementInvitations", lambda: client.list_engagement_invitations(
        Catalog=catalog, MaxResults=1, ParticipantType="RECEIVER", PayloadType=["OpportunityInvitation"]))
    if invitations is not None:
        items = invitations.get("EngagementInvitationSummaries") or []
        if items and items[0].get("Id"):
            iid = items[0]["Id"]
            call("GetEngagementInvitation", lambda: client.get_engagement_invitation(Catalog=catalog, Identifier=iid))
    return checks


def check_benefits(settings: Settings, client: Any = None) -> list[Check]:
    """With funding enabled: ListBenefitApplications and ListBenefitAllocations (MaxResults=1), each failure naming
    the IAM action (GetBenefitApplication is granted with them in the README's policy)."""
    from poller.partner_central.benefits import make_benefits_client

    client = client or make_benefits_client(timeout=min(settings.http_timeout, 15.0))
    checks = []
    for operation, call in (("ListBenefitApplications", client.list_benefit_applications),
                            ("ListBenefitAllocations", client.list_benefit_allocations)):
        try:
            call(Catalog=settings.catalog, MaxResults=1)
        except Exception as exc:  # every failure becomes one FAIL line naming the permission
            checks.append(Check(system="Partner Central Benefits", name=operation, ok=False,
                                detail=_pc_failure(operation, exc)))
            continue
        checks.append(Check(system="Partner Central Benefits", name=operation, ok=True,
                            detail=f"allowed (catalog {settings.catalog})"))
    return checks


def _aws_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return (response or {}).get("Error", {}).get("Code", "") if isinstance(response, dict) else ""


def _pc_failure(operation: str, exc: Exception) -> str:
    from botocore.exceptions import ClientError, EndpointConnectionError, HTTPClientError, NoCredentialsError

    if isinstance(exc, ClientError):
        code = _aws_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if code in ("AccessDeniedException", "AccessDenied"):
            return f"missing IAM permission partnercentral:{operation} ({code}: {message})"
        if code in CREDENTIAL_CODES:
            return f"AWS credentials rejected ({code}: {message})"
        return f"{code}: {message}"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (boto3 credential chain)"
    if isinstance(exc, EndpointConnectionError | HTTPClientError):
        return f"cannot reach Partner Central: {exc}"
    return f"{type(exc).__name__}: {exc}"
