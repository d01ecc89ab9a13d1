"""`poller config check | show`: validate the settings and the credentials before the first scheduled run."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from poller.app import rules_from
from poller.commands.common import emit_json, say, settings_from, table
from poller.config import DURATIONS, Check, config_path, effective
from poller.errors import ConfigError
from poller.hubspot.access import check_hubspot
from poller.partner_central.access import check_benefits, check_partner_central
from poller.store.open import check_state
from poller.templates import TemplateSet


@click.group(name="config")
def config_group() -> None:
    """Check or show the effective configuration (poller.toml < environment).

    Example:

    \b
        poller config check
        poller --config /etc/poller.toml config show
    """


@config_group.command(name="check")
@click.option("--skip-hubspot", is_flag=True, help="Check Partner Central only (no HubSpot token needed).")
@click.option("--offline", is_flag=True, help="Validate the settings only; call no API.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.pass_context
def check(ctx: click.Context, skip_hubspot: bool, offline: bool, as_json: bool) -> None:
    """Validate the settings and templates, then make one cheap call per permission the job uses.

    Templates (template_dir) are compiled and rendered against a sample
    event of every kind; a broken one fails naming its file and line.
    Partner Central: ListOpportunities and ListEngagementInvitations with
    MaxResults=1 (and a Get of what they return). HubSpot: owners, a deal
    read, a task read and an empty task/note batch create (creates nothing).
    Each check prints OK or FAIL; a failure names the missing IAM action or
    HubSpot scope. Exit codes: 0 all OK, 1 a check failed, 2 bad settings.

    Example:

    \b
        poller config check
        poller config check --skip-hubspot --json
    """
    settings = settings_from(ctx)
    # Templates first: a broken one is a bad setting (exit 2, its file and line), with or without a token.
    templates = rules_from(settings).templates
    described = "built-in defaults" if not isinstance(templates, TemplateSet) or templates.folder is None else \
        f"{len(templates.overrides)} in {templates.folder}"
    if not settings.hubspot_configured and not skip_hubspot:
        raise ConfigError("hubspot_access_token: not set (HUBSPOT_ACCESS_TOKEN or HUBSPOT_ACCESS_TOKEN_FILE); "
                          "without it nothing is delivered (--skip-hubspot checks Partner Central only)")
    root = ctx.find_root().params
    path = config_path(root.get("config"))
    checks = [Check(system="settings", name="settings", ok=True,
                    detail=f"valid ({path or 'no poller.toml'}; catalog {settings.catalog}; templates: {described})"),
              check_state(settings)]
    # Sinks beyond HubSpot are checked by sending: nothing cheaper proves a webhook (`poller sinks test NAME`).
    checks += [Check(system="sinks", name=s.name, ok=True, detail=f"{s.type}, valid; not contacted: poller sinks "
                                                                  f"test {s.name} sends a sample") for s in settings.sinks]
    if not offline:
        checks += check_partner_central(settings)
        if settings.benefits:  # funding: the Benefits API's own IAM actions
            checks += check_benefits(settings)
        if not skip_hubspot:
            checks += check_hubspot(settings)
    failed = [c for c in checks if not c.ok]
    if as_json:
        emit_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        rows = [{"system": c.system, "check": c.name, "result": "OK" if c.ok else "FAIL", "detail": c.detail}
                for c in checks]
        say(table(rows, ["system", "check", "result", "detail"], {"detail": 110}))
        say(f"\n{len(failed)} of {len(checks)} checks failed" if failed else f"\nall {len(checks)} checks passed")
    sys.exit(1 if failed else 0)


@config_group.command(name="show")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Print every effective setting and where it came from; the token is redacted.

    Example:

    \b
        poller config show
        POLLER_CATALOG=Sandbox poller config show --json
    """
    settings = settings_from(ctx)
    root = ctx.find_root().params
    rows = effective(settings, config_path(root.get("config")), db_flag=bool(root.get("db")))
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        if row["setting"] in DURATIONS:
            row["value"] = f"{row['value']:g}s"
    # The source is a file path or a variable name: cut, it would lose the part that tells them apart.
    say(table(rows, ["setting", "value", "source"], {"value": 70, "source": None}))
