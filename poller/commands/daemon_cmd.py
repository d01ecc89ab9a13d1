"""`poller daemon`: the cycle on an APScheduler interval, in one long-lived process."""

from __future__ import annotations

import logging
import sys

import click

from poller.app import build_app
from poller.commands.common import require_delivery, settings_from
from poller.config.values import bounded_duration


@click.command(name="daemon")
@click.option("--every", "every", default="5m", show_default=True, metavar="DURATION",
              help="Time between cycle starts: 90s, 5m, 1h.")
@click.pass_context
def daemon_command(ctx: click.Context, every: str) -> None:
    """Run a cycle now and then on a fixed interval, until SIGTERM, SIGHUP or Ctrl-C.

    A signal stops the daemon at the next record (before its next API
    request): the page being read is dropped (it is read again next time),
    committed pages stand, and the lease is released, so the next start
    continues from the checkpoint. Once a day it also runs `poller prune`
    with the `retention` setting.
    The daemon shares the run lease with `poller run`: if a cron job or
    another daemon is mid-cycle, the tick is recorded as skipped. A failed
    cycle is logged and the daemon waits for the next tick.

    Example:

    \b
        poller daemon --every 5m
        poller --log-format json daemon --every 10m
    """
    interval = bounded_duration(every, "--every")
    settings = settings_from(ctx)
    require_delivery(settings, dry_run=False)
    if not ctx.find_root().params.get("verbose"):  # our own lines say when it starts and stops; keep its warnings
        logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)
    from poller.run.daemon import Daemon

    sys.exit(Daemon(build_app(settings), interval).run())
