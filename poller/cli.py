"""The `poller` command line: a thin shell that parses flags and calls one function per command."""

from __future__ import annotations

import click

from poller import __version__
from poller.commands.run_cmd import run_command
from poller.commands.state_cmd import state_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="poller")
@click.option("--config", type=click.Path(dir_okay=False), envvar="POLLER_CONFIG",
              help="poller.toml with settings (environment variables win).")
@click.option("--db", type=click.Path(dir_okay=False), help="State database (default $POLLER_DB or state/poller.db).")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log lines on stderr: text or JSON lines.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def cli(config: str | None, db: str | None, log_format: str | None, verbose: bool) -> None:
    """Watch AWS Partner Central and tell the right HubSpot user what changed on their co-sell deal.

    Example:

    \b
        poller demo
        poller run --json
    """


cli.add_command(run_command)
cli.add_command(state_group)
cli.add_command(__import__("poller.commands.demo_cmd", fromlist=["demo_command"]).demo_command)
cli.add_command(__import__("poller.commands.demo_cmd", fromlist=["simulate_command"]).simulate_command)
cli.add_command(__import__("poller.commands.daemon_cmd", fromlist=["daemon_command"]).daemon_command)
cli.add_command(__import__("poller.commands.backfill_cmd", fromlist=["backfill_command"]).backfill_command)
cli.add_command(__import__("poller.commands.config_cmd", fromlist=["config_group"]).config_group)
cli.add_command(__import__("poller.commands.outbox_cmd", fromlist=["outbox_group"]).outbox_group)
cli.add_command(__import__("poller.commands.prune_cmd", fromlist=["prune_command"]).prune_command)
