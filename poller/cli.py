"""The `poller` command line: one error boundary around thin commands that parse flags and call one function each."""

from __future__ import annotations

import logging
from typing import Any

import click

from poller import __version__
from poller.commands.backfill_cmd import backfill_command
from poller.commands.common import fail
from poller.commands.config_cmd import config_group
from poller.commands.daemon_cmd import daemon_command
from poller.commands.dashboard_cmd import dashboard_command
from poller.commands.demo_cmd import demo_command, simulate_command
from poller.commands.event_cmd import handle_event_command
from poller.commands.outbox_cmd import outbox_group
from poller.commands.preview_cmd import preview_command
from poller.commands.prune_cmd import prune_command
from poller.commands.run_cmd import run_command
from poller.commands.sinks_cmd import sinks_group
from poller.commands.state_cmd import state_group
from poller.errors import ConfigError, PollerError, UsageError

log = logging.getLogger("poller")


class Poller(click.Group):
    """The root group; every command's errors end here, as one line on stderr with the design's exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, UsageError) as exc:  # fix a setting, or do something else first
            fail(str(exc), 2)
        except PollerError as exc:  # the job could not complete; its state stays consistent
            fail(str(exc), 1)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise  # click's own ending: usage errors (2), --help, Ctrl-C
        except Exception as exc:  # never a traceback for the operator; --verbose logs it
            log.debug("unexpected error", exc_info=True)
            fail(f"{type(exc).__name__}: {exc}", 1)


@click.group(cls=Poller, context_settings={"help_option_names": ["-h", "--help"]})
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


for command in (run_command, state_group, demo_command, simulate_command, daemon_command, backfill_command,
                config_group, outbox_group, prune_command, preview_command, dashboard_command, sinks_group,
                handle_event_command):
    cli.add_command(command)
