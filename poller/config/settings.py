"""Settings from defaults, `poller.toml` and the environment (env wins), validated into one frozen value."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from poller import redaction
from poller.config.preferences import parse_preferences
from poller.config.signal_settings import SIGNAL_DURATIONS, SIGNAL_ENV, coerce_signal
from poller.config.sinks import SinkSettings, load_sinks
from poller.config.values import (
    BOUNDS,
    boolean,
    bounded_duration,
    check_base_url,
    check_link_template,
    parse_duration,
    token,
)
from poller.core.preferences import Preferences
from poller.errors import ConfigError

__all__ = ["DURATIONS", "ENV", "Settings", "load_settings", "parse_duration"]


DEFAULT_CONFLICT_MAPPING = (("expected_spend", "amount"), ("target_close_date", "closedate"), ("title", "dealname"))
PROPERTY_NAME = re.compile(r"^[a-z0-9_]*$")
CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    db: str = "state/poller.db"
    catalog: str = "AWS"
    hubspot_access_token: str | None = field(default=None, repr=False)  # never printed
    hubspot_base_url: str = "https://api.hubapi.com"
    fallback_owner_id: str | None = None
    deal_id_property: str | None = None  # a deal property holding the AWS opportunity id, instead of PartnerOpportunityIdentifier
    hubspot_requests_per_10s: int = 50
    pc_requests_per_second: float = 5.0
    pc_daily_budget: int = 50_000  # this job's share of the account's 100,000 reads per rolling day
    lookback: float = 900.0
    sweep_period: float = 3600.0
    run_time_budget: float = 600.0  # a cycle stops cleanly at a page boundary after this long
    http_timeout: float = 30.0
    # An uncertain send (timeout, 5xx, dropped connection, crash) is looked up only this long after it left: HubSpot
    # may still be processing a create the client gave up on. Default: http_timeout + SETTLE_MARGIN.
    settle_time: float = 90.0
    retry_attempts: int = 5
    score_change_threshold: int = 10
    high_engagement_score: int = 80
    conflict_reraise_hours: int = 24
    muted_kinds: tuple[str, ...] = ()
    due_hours: tuple[tuple[str, int], ...] = ()
    priority: tuple[tuple[str, str], ...] = ()
    partner_central_url: str | None = None
    log_format: str = "text"
    deliver: bool = True  # false: record events and queue notifications, send nothing (no token needed)
    retention: float = 180 * 86400.0  # `poller prune` (and the daemon, daily) deletes history older than this
    # Conflict detection: snapshot field → the deal property it is compared with ("" = don't compare that field).
    conflict_mapping: tuple[tuple[str, str], ...] = DEFAULT_CONFLICT_MAPPING
    # The portal's company currency: a deal without deal_currency_code has its amount in it (ISO 4217).
    deal_currency: str = "USD"
    # A folder of notification templates over the built-in defaults (None: the defaults alone); see the README.
    template_dir: str | None = None
    # Sinks beyond HubSpot (Slack, SNS): opt-in, each with its route (poller.config.sinks).
    sinks: tuple[SinkSettings, ...] = ()
    # The deal's page in HubSpot, for the buttons of those sinks' messages: https://app.hubspot.com/contacts/
    # <portal id>/record/0-3/{id}. Unset: the messages name the deal id without a link.
    hubspot_deal_url: str | None = None
    # Owners' preferences, digests and managers' roll-ups: the `[preferences]` table (poller.toml only). Empty: every
    # notification goes at once to its owner.
    preferences: Preferences = Preferences()
    # The 2026 signals (README "What it notifies"; poller.config.signal_settings checks them).
    quality_bands: tuple[int, ...] = (40, 70)  # deal-quality score band edges (0–100)
    quality_hysteresis: int = 5  # points past an edge before the band changes (flap safety)
    invitation_reminder: float = 48 * 3600.0  # a PENDING invitation this long before it expires: a reminder
    action_required_after: float = 3 * 86400.0  # still at Action Required this long: an escalation…
    action_required_every: float = 3 * 86400.0  # …repeated at most once per this period
    benefits: bool = False  # funding (Partner Central Benefits): off unless enabled (extra IAM actions)
    benefits_period: float = 3600.0  # a funding pass at most this often
    benefits_daily_budget: int = 2000  # Benefits reads per rolling 24 h (its own budget)
    funding_expiry_window: float = 14 * 86400.0  # an allocation expiring within this: a reminder

    @property
    def hubspot_configured(self) -> bool:
        return bool(self.hubspot_access_token)


# setting name → environment variable
ENV = {
    "db": "POLLER_DB",
    "catalog": "POLLER_CATALOG",
    "hubspot_access_token": "HUBSPOT_ACCESS_TOKEN",
    "hubspot_base_url": "HUBSPOT_BASE_URL",
    "fallback_owner_id": "POLLER_FALLBACK_OWNER_ID",
    "deal_id_property": "POLLER_DEAL_ID_PROPERTY",
    "hubspot_requests_per_10s": "POLLER_HUBSPOT_REQUESTS_PER_10S",
    "pc_requests_per_second": "POLLER_PC_REQUESTS_PER_SECOND",
    "pc_daily_budget": "POLLER_PC_DAILY_BUDGET",
    "lookback": "POLLER_LOOKBACK",
    "sweep_period": "POLLER_SWEEP_PERIOD",
    "run_time_budget": "POLLER_RUN_TIME_BUDGET",
    "http_timeout": "POLLER_HTTP_TIMEOUT",
    "settle_time": "POLLER_SETTLE_TIME",
    "retry_attempts": "POLLER_RETRY_ATTEMPTS",
    "score_change_threshold": "POLLER_SCORE_CHANGE_THRESHOLD",
    "high_engagement_score": "POLLER_HIGH_ENGAGEMENT_SCORE",
    "conflict_reraise_hours": "POLLER_CONFLICT_RERAISE_HOURS",
    "muted_kinds": "POLLER_MUTED_KINDS",
    "partner_central_url": "POLLER_PARTNER_CENTRAL_URL",
    "hubspot_deal_url": "POLLER_HUBSPOT_DEAL_URL",
    "log_format": "POLLER_LOG_FORMAT",
    "conflict_mapping": "POLLER_CONFLICT_MAPPING",
    "deal_currency": "POLLER_DEAL_CURRENCY",
    "deliver": "POLLER_DELIVER",
    "retention": "POLLER_RETENTION",
    "template_dir": "POLLER_TEMPLATE_DIR",
    **SIGNAL_ENV,
}
DURATIONS = {"lookback", "sweep_period", "run_time_budget", "http_timeout", "settle_time", "retention",
             *SIGNAL_DURATIONS}
assert DURATIONS <= set(BOUNDS)
SETTLE_MARGIN = 60.0  # seconds HubSpot may go on processing a request after the client's timeout
TOKEN_FILE_ENV = "HUBSPOT_ACCESS_TOKEN_FILE"
CATALOGS = ("AWS", "Sandbox")
LOG_FORMATS = ("text", "json")


def _coerce(name: str, raw: Any, kinds: tuple[str, ...], priorities: tuple[str, ...]) -> Any:
    """Turn a raw value from env (text) or TOML (typed) into the setting's type, or fail naming the setting."""
    if name in SIGNAL_ENV:
        return coerce_signal(name, raw)
    if name in DURATIONS:
        return bounded_duration(raw, name)
    if name == "deliver":
        return boolean(raw, name)
    if name == "hubspot_access_token":
        return token(raw, name)
    if name in {"hubspot_requests_per_10s", "pc_daily_budget", "retry_attempts", "score_change_threshold",
                "high_engagement_score", "conflict_reraise_hours"}:
        try:
            value = int(str(raw).strip()) if not isinstance(raw, bool) else None
        except ValueError:
            value = None
        if value is None or value < 1:
            raise ConfigError(f"{name}: expected a positive whole number, got {raw!r}")
        return value
    if name == "pc_requests_per_second":
        try:
            rate = float(str(raw).strip())
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
        if not 0 < rate <= 10:
            raise ConfigError(f"{name}: must be above 0 and at most 10 (Partner Central allows 10 reads/s per account)")
        return rate
    if name == "muted_kinds":
        items = raw if isinstance(raw, list) else [p for p in str(raw).replace(",", " ").split() if p]
        unknown = [k for k in items if k not in kinds]
        if unknown:
            raise ConfigError(f"{name}: unknown event kind {unknown[0]!r} (kinds: {', '.join(kinds)})")
        return tuple(items)
    if name == "conflict_mapping":
        return _conflict_mapping(raw)
    if name == "preferences":
        return parse_preferences(raw)
    if name == "deal_currency":
        code = str(raw).strip().upper()
        if not CURRENCY.match(code):
            raise ConfigError(f"{name}: {raw!r} is not an ISO 4217 currency code (examples: USD, EUR)")
        return code
    if name in {"due_hours", "priority"}:
        if not isinstance(raw, dict):
            raise ConfigError(f"{name}: expected a table of event kind = value")
        pairs = []
        for kind, value in raw.items():
            if kind not in kinds:
                raise ConfigError(f"{name}.{kind}: unknown event kind")
            if name == "due_hours" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError(f"{name}.{kind}: expected a positive whole number of hours")
            if name == "priority" and value not in priorities:
                raise ConfigError(f"{name}.{kind}: expected one of {', '.join(priorities)}")
            pairs.append((kind, value))
        return tuple(sorted(pairs))
    if not isinstance(raw, str):
        raise ConfigError(f"{name}: expected text, got {type(raw).__name__}")
    text = raw.strip() or None
    if text is not None and name == "hubspot_base_url":
        check_base_url(text, name)
    if text is not None and name in ("partner_central_url", "hubspot_deal_url"):
        check_link_template(text, name)
    return text


def _conflict_mapping(raw: Any) -> tuple[tuple[str, str], ...]:
    """A TOML table or `title=dealname,expected_spend=,…` text, merged over the default mapping."""
    if isinstance(raw, str):
        try:
            raw = dict((k.strip(), v.strip()) for k, v in (p.split("=", 1) for p in raw.split(",") if p.strip()))
        except ValueError:
            raise ConfigError("conflict_mapping: expected field=deal_property pairs separated by commas") from None
    if not isinstance(raw, dict):
        raise ConfigError("conflict_mapping: expected a table of snapshot field = deal property")
    mapping = dict(DEFAULT_CONFLICT_MAPPING)
    for key, value in raw.items():
        if key not in mapping:
            raise ConfigError(f"conflict_mapping.{key}: unknown field (fields: {', '.join(sorted(mapping))})")
        if not isinstance(value, str) or not PROPERTY_NAME.match(value):
            raise ConfigError(f"conflict_mapping.{key}: {value!r} is not a HubSpot deal property name (or \"\" to skip)")
        mapping[key] = value
    return tuple(sorted(mapping.items()))


def _validate(s: Settings) -> Settings:
    if s.catalog not in CATALOGS:
        raise ConfigError(f"catalog: {s.catalog!r} is not one of {', '.join(CATALOGS)} (POLLER_CATALOG)")
    if s.log_format not in LOG_FORMATS:
        raise ConfigError(f"log_format: expected one of {', '.join(LOG_FORMATS)}")
    if s.fallback_owner_id is not None and not s.fallback_owner_id.isdigit():
        raise ConfigError(f"fallback_owner_id: {s.fallback_owner_id!r} is not a HubSpot owner id (digits)")
    if not s.db:
        raise ConfigError("db: empty path (POLLER_DB)")
    return s


def load_settings(config_path: str | None = None, environ: dict[str, str] | None = None,
                  overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults < poller.toml (`--config`, POLLER_CONFIG, or ./poller.toml if present) < environment < overrides."""
    from poller.core.model import KINDS, PRIORITIES

    env = os.environ if environ is None else environ
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    path = config_path or env.get("POLLER_CONFIG") or ("poller.toml" if Path("poller.toml").exists() else None)
    sink_tables: Any = {}
    if path:
        whole = _read_toml(path)
        data = whole.get("poller", whole)  # accept a [poller] table or top-level keys
        sink_tables = data.pop("sinks", None) or whole.get("sinks", {})  # [poller.sinks.X] or [sinks.X]
        for key, raw in data.items():
            if key not in names or key == "hubspot_access_token":
                hint = " (tokens come from HUBSPOT_ACCESS_TOKEN or HUBSPOT_ACCESS_TOKEN_FILE)" \
                    if key == "hubspot_access_token" else ""
                raise ConfigError(f"{key}: unknown setting in {path}{hint}")
            values[key] = _coerce(key, raw, KINDS, PRIORITIES)
    for key, var in ENV.items():
        if env.get(var) not in (None, ""):
            try:
                values[key] = _coerce(key, env[var], KINDS, PRIORITIES)
            except ConfigError as exc:
                raise ConfigError(f"{exc} ({var})") from None
    values["sinks"] = load_sinks(sink_tables, env, KINDS, PRIORITIES, path or "poller.toml")
    if "hubspot_access_token" not in values and env.get(TOKEN_FILE_ENV):
        values["hubspot_access_token"] = _read_token_file(env[TOKEN_FILE_ENV])
    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = raw
    if "settle_time" not in values and "http_timeout" in values:  # the default follows a changed timeout
        values["settle_time"] = values["http_timeout"] + SETTLE_MARGIN
    # Known from here on, the secrets are masked in everything the process logs, prints or stores.
    redaction.register([values.get("hubspot_access_token"), env.get("AWS_SECRET_ACCESS_KEY"),
                        env.get("AWS_SESSION_TOKEN")])
    return _validate(Settings(**values))


def _read_toml(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config: file {path} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config: {path} is not a text file (not UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path} ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML ({exc})") from None


def _read_token_file(path: str) -> str | None:
    where = f"hubspot_access_token ({TOKEN_FILE_ENV})"
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"hubspot_access_token: cannot read {TOKEN_FILE_ENV} ({exc.strerror})") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: {path} is not a text token (a non-ASCII byte at position {exc.start + 1})") \
            from None
    return token(text, where)
