"""What `poller config show` and `config check` report: each setting with its source, and one check's result."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from poller.config.settings import ENV, TOKEN_FILE_ENV, Settings
from poller.config.sinks import ENV_PREFIX as SINK_ENV_PREFIX


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
        in_file = set(data.get("poller", data)) | ({"sinks"} & set(data))
    rows = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        var = ENV.get(f.name)
        if f.name == "db" and db_flag:
            source = "--db"
        elif f.name == "sinks" and any(k.startswith(SINK_ENV_PREFIX) and v for k, v in env.items()):
            source = f"env {SINK_ENV_PREFIX}*" + (f" and file {path}" if "sinks" in in_file else "")
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
        elif f.name == "sinks":
            value = [sink.shown() for sink in value]  # a webhook URL is a secret: shown as set, never as itself
        elif f.name == "preferences":
            value = value.summary() if value.configured else None
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        rows.append({"setting": f.name, "value": value, "source": source})
    return rows
