"""What every command shares: loading settings, building the app, printing, and turning errors into exit codes."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from poller import logs
from poller.config import ENV, TOKEN_FILE_ENV, Settings, load_settings
from poller.errors import ConfigError
from poller.redaction import redact, redact_value
from poller.terminal import printable

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("poller")


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    root = ctx.find_root().params
    settings = load_settings(root.get("config"), overrides={"db": root.get("db"), **overrides})
    log_format = root.get("log_format") or settings.log_format
    logs.configure(log_format, logging.DEBUG if root.get("verbose") else logging.INFO,
                   secrets=[settings.hubspot_access_token, os.environ.get("AWS_SECRET_ACCESS_KEY"),
                            os.environ.get("AWS_SESSION_TOKEN")])
    return settings


def require_delivery(settings: Settings, *, dry_run: bool) -> None:
    """A job that would deliver needs a token: without one it would record for days and deliver nothing, silently.

    --dry-run or `deliver = false` say that recording only is intended.
    """
    if settings.hubspot_configured or dry_run or not settings.deliver:
        return
    raise ConfigError(f"{ENV['hubspot_access_token']}: not set (nor {TOKEN_FILE_ENV}), so nothing would be "
                      f"delivered; set it, or record only with --dry-run or deliver = false ({ENV['deliver']}=false)")


def say(text: str = "", *, err: bool = False) -> None:
    """Every line the CLI prints goes out here, secrets masked. Values from Partner Central are escaped where
    they are put into the text (`shown`, `table`), so they cannot forge lines or terminal escapes."""
    click.echo(redact(text), err=err)


def shown(value: Any) -> str:
    """A value for one line of terminal output: control and bidi characters escaped."""
    return printable("" if value is None else value)


def fail(message: str, code: int) -> NoReturn:
    say(f"Error: {shown(message)}", err=True)
    sys.exit(code)


def emit_json(payload: Any) -> None:
    # Not escaped: JSON escapes control characters itself; bidi characters stay, as data.
    say(json.dumps(redact_value(payload), indent=2, default=str, ensure_ascii=False))


def table(rows: list[dict[str, Any]], columns: list[str], widths: dict[str, int | None] | None = None) -> str:
    """A plain fixed-width table for terminals and logs; a column whose width is None is never cut."""
    if not rows:
        return "(none)"
    widths = widths or {}
    cells = [[_cell(r.get(c), widths.get(c, 40)) for c in columns] for r in rows]
    sizes = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(sizes[i]) for i, c in enumerate(columns))]
    lines.append("  ".join("-" * s for s in sizes))
    lines.extend("  ".join(row[i].ljust(sizes[i]) for i in range(len(columns))) for row in cells)
    return "\n".join(lines)


def _cell(value: Any, width: int | None) -> str:
    text = "" if value is None else (json.dumps(value) if isinstance(value, dict | list) else str(value))
    text = printable(redact(text))
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def print_outcome(summary: dict[str, Any], notifications: list[Any], heading: str,
                  skipped_note: str = "retried next cycle") -> None:
    """What a run or backfill leaves for the operator: deferred work, skipped records, the error, the notifications."""
    if summary.get("deferred"):
        say(f"deferred: {shown(summary['deferred'])}")
    if summary.get("skipped_ids"):
        say(f"skipped malformed records ({skipped_note}): {shown(', '.join(summary['skipped_ids']))}")
    if summary.get("error"):
        say(f"error: {shown(summary['error'])}", err=True)
    if notifications:
        say(f"\n{len(notifications)} {heading}:")
        rows = [{"priority": n.priority, "kind": n.kind, "deal": n.deal_id or "-", "due": n.due_at[:16],
                 "subject": n.subject} for n in notifications]
        say(table(rows, ["priority", "kind", "deal", "due", "subject"], {"subject": 90}))
