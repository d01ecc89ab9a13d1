"""Sinks beyond HubSpot from `[sinks.NAME]` tables and `POLLER_SINK_<NAME>_<KEY>` variables, each checked in one line."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from poller import redaction
from poller.config.values import is_loopback
from poller.core.routes import SinkRoute
from poller.errors import ConfigError

TYPES = ("slack", "sns")
KEYS = ("type", "webhook_url", "topic_arn", "kinds", "min_priority", "owners")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ENV_KEY = re.compile(r"^POLLER_SINK_(?P<name>[A-Z0-9_]+?)_(?P<key>" + "|".join(k.upper() for k in KEYS) + ")$")
ENV_PREFIX = "POLLER_SINK_"
# arn:partition:sns:region:account:topic (a FIFO topic's name ends in .fifo)
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
RESERVED = ("hubspot",)  # the default sink: it takes everything and needs no table


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkSettings:
    name: str
    type: str  # slack | sns
    webhook_url: str | None = field(default=None, repr=False)  # a secret: never printed, logged or stored
    topic_arn: str | None = None
    kinds: tuple[str, ...] = ()  # empty: every kind
    min_priority: str = "LOW"
    owners: tuple[str, ...] = ()  # HubSpot owner ids; empty: every owner

    @property
    def route(self) -> SinkRoute:
        return SinkRoute(sink=self.name, kinds=frozenset(self.kinds) if self.kinds else None,
                         min_priority=self.min_priority, owners=frozenset(self.owners) if self.owners else None)

    @property
    def fifo(self) -> bool:
        return bool(self.topic_arn and self.topic_arn.endswith(".fifo"))

    def shown(self) -> dict[str, Any]:
        """For `poller config show`: everything but the webhook URL, which shows only that it is set."""
        target = {"webhook_url": "*** (set)"} if self.type == "slack" else {"topic_arn": self.topic_arn}
        return {"name": self.name, "type": self.type, **target, "kinds": list(self.kinds) or "all",
                "min_priority": self.min_priority, "owners": list(self.owners) or "all"}


def load_sinks(tables: Any, env: Mapping[str, str], kinds: Sequence[str], priorities: Sequence[str],
               where: str) -> tuple[SinkSettings, ...]:
    """The sinks of a `[sinks]` table (TOML, from `where`) merged with POLLER_SINK_* variables (env wins, per key)."""
    if not isinstance(tables, dict):
        raise ConfigError(f"sinks: expected tables [sinks.NAME] in {where}")
    raw: dict[str, dict[str, tuple[Any, str]]] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"sinks.{name}: expected a table [sinks.{name}] in {where}")
        raw[str(name)] = {str(k): (v, f"sinks.{name}.{k}") for k, v in table.items()}
    for var, value in env.items():
        if not var.startswith(ENV_PREFIX) or value == "":
            continue
        match = ENV_KEY.match(var)
        if match is None:
            raise ConfigError(f"{var}: not a sink setting (POLLER_SINK_<NAME>_<KEY>, KEY one of "
                              f"{', '.join(k.upper() for k in KEYS)})")
        raw.setdefault(match["name"].lower(), {})[match["key"].lower()] = (value, var)
    sinks = tuple(_sink(name, items, kinds, priorities) for name, items in sorted(raw.items()))
    redaction.register([s.webhook_url for s in sinks] + [urlsplit(s.webhook_url).path for s in sinks if s.webhook_url])
    return sinks


def _sink(name: str, items: dict[str, tuple[Any, str]], kinds: Sequence[str], priorities: Sequence[str]) -> SinkSettings:
    if not NAME.match(name) or name in RESERVED:
        why = "is the default sink's name" if name in RESERVED else "must be lowercase letters, digits and _ (≤40)"
        raise ConfigError(f"sinks.{name}: the name {why}")
    for key, (_value, where) in items.items():
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown sink setting (known: {', '.join(KEYS)})")
    values = {key: value for key, (value, _where) in items.items()}
    names = {key: where for key, (_value, where) in items.items()}
    kind = str(values.get("type") or ("slack" if "webhook_url" in values else "sns" if "topic_arn" in values else ""))
    if kind not in TYPES:
        raise ConfigError(f"{names.get('type', f'sinks.{name}.type')}: expected one of {', '.join(TYPES)}"
                          + ("" if "type" in values else " (or set webhook_url for Slack, topic_arn for SNS)"))
    target = "webhook_url" if kind == "slack" else "topic_arn"
    other = "topic_arn" if kind == "slack" else "webhook_url"
    if other in values:
        raise ConfigError(f"{names[other]}: a {kind} sink has no {other} (it takes {target})")
    if not values.get(target):
        env = f"POLLER_SINK_{name.upper()}_{target.upper()}"
        raise ConfigError(f"sinks.{name}.{target}: not set (in the [sinks.{name}] table or {env})")
    return SinkSettings(
        name=name, type=kind,
        webhook_url=_webhook_url(values["webhook_url"], names["webhook_url"]) if kind == "slack" else None,
        topic_arn=_topic_arn(values["topic_arn"], names["topic_arn"]) if kind == "sns" else None,
        kinds=_kinds(values.get("kinds", ()), names.get("kinds", ""), kinds),
        min_priority=_priority(values.get("min_priority", "LOW"), names.get("min_priority", ""), priorities),
        owners=_owners(values.get("owners", ()), names.get("owners", "")))


def _webhook_url(raw: Any, where: str) -> str:
    """https anywhere, plain http only to this machine (a simulator). The URL is the secret: never quoted back."""
    url = str(raw).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not isinstance(raw, str):
        raise ConfigError(f"{where}: not an http(s) URL (the value is not shown: it is a secret)")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"{where}: plain http would send the webhook's secret unencrypted; use https (plain http "
                          "is allowed only to localhost, 127.0.0.0/8 or ::1)")
    return url


def _topic_arn(raw: Any, where: str) -> str:
    arn = str(raw).strip()
    if not TOPIC_ARN.match(arn):
        raise ConfigError(f"{where}: {arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC)")
    return arn


def _items(raw: Any) -> list[str]:
    """A TOML list, or text separated by commas or spaces (from the environment)."""
    items = list(raw) if isinstance(raw, list | tuple) else str(raw).replace(",", " ").split()
    return [str(item).strip() for item in items if str(item).strip()]


def _kinds(raw: Any, where: str, kinds: Sequence[str]) -> tuple[str, ...]:
    items = _items(raw)
    unknown = [k for k in items if k not in kinds]
    if unknown:
        raise ConfigError(f"{where}: unknown event kind {unknown[0]!r} (kinds: {', '.join(kinds)})")
    return tuple(dict.fromkeys(items))


def _priority(raw: Any, where: str, priorities: Sequence[str]) -> str:
    value = str(raw).strip().upper()
    if value not in priorities:
        raise ConfigError(f"{where}: expected one of {', '.join(priorities)}, got {raw!r}")
    return value


def _owners(raw: Any, where: str) -> tuple[str, ...]:
    items = _items(raw)
    bad = [o for o in items if not o.isdigit()]
    if bad:
        raise ConfigError(f"{where}: {bad[0]!r} is not a HubSpot owner id (digits)")
    return tuple(dict.fromkeys(items))
