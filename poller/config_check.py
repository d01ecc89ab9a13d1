"""`poller config check` / `show`: the effective settings, and one cheap call per permission the job needs."""

from __future__ import annotations

import json
import os
import sqlite3
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from poller.config import ENV, TOKEN_FILE_ENV, Settings

# Everything the job calls in Partner Central (poller/partner_central.py): the least-privilege IAM policy.
IAM_ACTIONS = (
    "partnercentral:ListOpportunities",
    "partnercentral:GetOpportunity",
    "partnercentral:GetAwsOpportunitySummary",
    "partnercentral:ListEngagementInvitations",
    "partnercentral:GetEngagementInvitation",
)
# HubSpot private-app scopes: tasks and notes are engagements, guarded by the contacts scopes.
HUBSPOT_SCOPES = {
    "crm.objects.contacts.write": "create tasks and notes (and find them again by event key)",
    "crm.objects.contacts.read": "read tasks and notes back when a send was uncertain",
    "crm.objects.deals.read": "read the linked deals (owner, amount, close date, name)",
    "crm.objects.owners.read": "route each notification to an active deal owner",
    "crm.schemas.contacts.write": "optional: create the poller_event_key property (else a Ref: token in the body)",
}
CREDENTIAL_CODES = {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                    "SignatureDoesNotMatch", "ExpiredTokenException", "ExpiredToken", "IncompleteSignature"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    system: str  # settings | state | Partner Central | HubSpot
    name: str
    ok: bool
    detail: str = ""


def config_path(explicit: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The poller.toml that load_settings reads: --config, POLLER_CONFIG, or ./poller.toml when present."""
    env = os.environ if environ is None else environ
    return explicit or env.get("POLLER_CONFIG") or ("poller.toml" if Path("poller.toml").exists() else None)


def effective(settings: Settings, path: str | None, *, db_flag: bool = False,
              environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every setting with its value and where it came from; the token is never shown."""
    env = os.environ if environ is None else environ
    in_file: set[str] = set()
    if path:
        data = tomllib.loads(Path(path).read_text())
        in_file = set(data.get("poller", data))
    rows = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        var = ENV.get(f.name)
        if f.name == "db" and db_flag:
            source = "--db"
        elif var and env.get(var) not in (None, ""):
            source = f"env {var}"
        elif f.name == "hubspot_access_token" and value and env.get(TOKEN_FILE_ENV):
            source = f"file named by {TOKEN_FILE_ENV}"
        elif f.name in in_file:
            source = f"file {path}"
        else:
            source = "default"
        if f.name == "hubspot_access_token":
            value = "*** (set)" if value else None
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        rows.append({"setting": f.name, "value": value, "source": source})
    return rows


def check_state(settings: Settings) -> Check:
    """The state database is readable, or its folder can be created and written; opens nothing for writing."""
    path = Path(settings.db)
    if path.exists():
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)  # never creates or migrates
            try:
                runs = conn.execute("SELECT count(*), max(started_at) FROM runs").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            return Check(system="state", name="database", ok=False, detail=f"{path}: {exc}")
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        return Check(system="state", name="database", ok=writable,
                     detail=f"{path}: {runs[0]} runs, last started {runs[1] or 'never'}"
                     + ("" if writable else " (not writable by this user)"))
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    ok = os.access(parent, os.W_OK)
    return Check(system="state", name="database", ok=ok,
                 detail=f"{path}: will be created on the first run" if ok else f"{parent} is not writable")


# --- Partner Central


def check_partner_central(settings: Settings, client: Any = None) -> list[Check]:
    """ListOpportunities and ListEngagementInvitations (MaxResults=1); then a Get of what they listed, if anything."""
    import boto3

    from poller.partner_central import make_client

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


# --- HubSpot


def check_hubspot(settings: Settings) -> list[Check]:
    """Owners, deals and tasks/notes, one small call each; names the scope a 403 says is missing."""
    from hubspot import HubSpot
    from hubspot.crm.deals import BatchReadInputSimplePublicObjectId as DealsRead
    from hubspot.crm.deals import SimplePublicObjectId as DealId
    from hubspot.crm.objects.tasks import BatchInputSimplePublicObjectBatchInputForCreate as CreateInput
    from hubspot.crm.objects.tasks import BatchReadInputSimplePublicObjectId as TasksRead
    from hubspot.crm.objects.tasks import SimplePublicObjectId as TaskId
    from urllib3.util.retry import Retry

    system = "HubSpot"
    client = HubSpot(access_token=settings.hubspot_access_token, host=settings.hubspot_base_url.rstrip("/"),
                     retry=Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False))
    timeout = (min(settings.http_timeout, 10.0), min(settings.http_timeout, 15.0))
    nothing = TaskId(id="0")  # an id that does not exist: the call proves access and reads nothing
    probes: list[tuple[str, str, Callable[[], Any]]] = [
        ("owners", "crm.objects.owners.read", lambda: client.crm.owners.owners_api.get_page_with_http_info(
            limit=1, archived=False, _request_timeout=timeout)),
        ("deals read", "crm.objects.deals.read", lambda: client.crm.deals.batch_api.read_with_http_info(
            DealsRead(inputs=[DealId(id="0")], properties=["hubspot_owner_id"], properties_with_history=[]),
            archived=False, _request_timeout=timeout)),
        ("tasks read", "crm.objects.contacts.read", lambda: client.crm.objects.tasks.batch_api.read_with_http_info(
            TasksRead(inputs=[nothing], properties=["hs_task_subject"], properties_with_history=[]),
            archived=False, _request_timeout=timeout)),
        # An empty batch creates nothing; HubSpot checks the scope before it looks at the inputs.
        ("tasks create", "crm.objects.contacts.write", lambda: client.crm.objects.tasks.batch_api.create_with_http_info(
            CreateInput(inputs=[]), _request_timeout=timeout)),
        ("notes create", "crm.objects.contacts.write", lambda: client.crm.objects.notes.batch_api.create_with_http_info(
            CreateInput(inputs=[]), _request_timeout=timeout)),
    ]
    checks: list[Check] = []
    for name, scope, probe in probes:
        try:
            probe()
        except Exception as exc:  # every failure becomes one FAIL line naming the scope or the cause
            status = getattr(exc, "status", None)
            if status == 401:
                return [*checks, Check(system=system, name="access token", ok=False,
                                       detail="token rejected (HTTP 401): check HUBSPOT_ACCESS_TOKEN")]
            if status == 403:
                missing = _required_scopes(getattr(exc, "body", None)) or [scope]
                either = " (any one of)" if len(missing) > 1 else ""  # HubSpot lists the scopes that would do
                checks.append(Check(system=system, name=name, ok=False,
                                    detail=f"missing scopes{either}: {', '.join(missing)}"))
                continue
            if status is not None and status < 500 and status not in (423, 429):
                checks.append(Check(system=system, name=name, ok=True, detail=f"allowed ({scope})"))
                continue  # e.g. 400 for the empty batch: authorized, nothing created
            detail = f"HTTP {status}" if status else f"cannot reach {settings.hubspot_base_url}: {type(exc).__name__}"
            checks.append(Check(system=system, name=name, ok=False, detail=detail))
            continue
        checks.append(Check(system=system, name=name, ok=True, detail=f"allowed ({scope})"))
    return checks


def _required_scopes(body: str | None) -> list[str]:
    try:
        data = json.loads(body or "{}")
    except ValueError:
        return []
    found: list[str] = []
    for error in data.get("errors") or []:
        context = error.get("context") or {}
        for key in ("requiredGranularScopes", "missingScopes", "requiredScopes"):
            found.extend(s for s in context.get(key) or [] if s not in found)
    return found
