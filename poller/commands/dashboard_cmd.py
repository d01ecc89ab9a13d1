"""`poller dashboard`: the state database's history in Datasette, read-only, on 127.0.0.1 (the `dashboard` extra)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import click

from poller.commands.common import say, settings_from, shown
from poller.errors import StoreUnusable, UsageError
from poller.store import dashboard_queries
from poller.store.open import pending_migrations, reading

NAME = "poller"  # the database's name in Datasette's URLs: /poller/notifications_by_owner
DASHBOARD = "history"  # /-/dashboards/history
CHART = "notifications-per-day"
INSTALL = "pip install 'poller[dashboard]' (from a checkout: pip install -e '.[dashboard]')"


@click.command(name="dashboard")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0: any free port, printed).")
@click.pass_context
def dashboard_command(ctx: click.Context, port: int) -> None:
    """Browse the notification history in Datasette: canned queries and a chart, read-only, on 127.0.0.1.

    Needs the `dashboard` extra. Notifications by owner, by deal and by kind
    per week; pending, unknown and failed deliveries; the last runs with
    their API use; an opportunity's timeline; notifications per day as a
    chart. Owners' names and emails, snapshots and task bodies read as
    empty. Ctrl-C stops it.

    Example:

    \b
        pip install 'poller[dashboard]'
        poller --db state/poller.db dashboard --port 8001
    """
    settings = settings_from(ctx)
    try:  # the extra: Datasette, its chart plugin, and the server they run on
        import datasette_dashboards  # noqa: F401  (registers itself with Datasette as a plugin)
        import uvicorn
        from datasette.app import Datasette
        from datasette.database import Database
    except ImportError as exc:
        raise UsageError(f"poller dashboard needs the dashboard extra ({exc.name} is missing): {INSTALL}") from None
    path = Path(settings.db)
    with reading(path) as db:  # the same refusals as `poller state`: missing, not SQLite, not poller's, newer
        pending = pending_migrations(db)
    if pending:
        raise StoreUnusable(path, f"predates this version of poller (pending migration {pending[0]}); "
                                  "the next `poller run` upgrades it")

    class StateDatabase(Database):
        """Every connection to the state file, reads and would-be writes alike, is read-only and guarded."""

        def connect(self, write: bool = False) -> Any:
            return dashboard_queries.connect(path)

    site = Datasette(metadata=metadata(), settings={"allow_download": False}, cors=False)
    site.add_database(StateDatabase(site, path=str(path.resolve())), name=NAME)
    site.remove_database("_memory")  # Datasette adds a scratch database when started without files
    listening = _listen(port)
    url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    say(f"serving {shown(path)} read-only at {url}/{NAME} (Ctrl-C stops)")
    say(f"  chart: {url}/-/dashboards/{DASHBOARD}")
    server = uvicorn.Server(uvicorn.Config(site.app(), log_level="warning", lifespan="on"))
    server.run(sockets=[listening])


def _listen(port: int) -> socket.socket:
    """The socket, bound before the server starts, so the URL printed is already reachable and a busy port is one
    line (exit 2), not a server log."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))  # loopback only: the dashboard has no login
    except OSError as exc:
        sock.close()
        raise UsageError(f"--port {port}: 127.0.0.1:{port} cannot be used ({exc.strerror}); choose another") from None
    sock.listen(128)
    return sock


def metadata() -> dict[str, Any]:
    """Datasette's metadata: the canned queries, and the chart (datasette-dashboards, Vega-Lite)."""
    queries = {q.name: {"title": q.title, "description": q.description, "sql": q.sql,
                        **({"params": list(q.params)} if q.params else {})} for q in dashboard_queries.CANNED}
    per_day = dashboard_queries.NOTIFICATIONS_PER_DAY
    chart = {
        "title": per_day.title, "db": NAME, "query": per_day.sql, "library": "vega-lite",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "day", "type": "temporal", "timeUnit": "utcyearmonthdate", "title": "day (UTC)",
                      "axis": {"tickCount": "day", "format": "%b %d", "labelOverlap": True}},
                "y": {"field": "notifications", "type": "quantitative", "aggregate": "sum", "title": "notifications"},
                "color": {"field": "kind", "type": "nominal", "title": "kind"},
            },
        },
    }
    return {
        "title": "poller: notification history",
        "description": "The state database, read-only. Owners' names and emails, snapshots, event payloads and task "
                       "and note bodies read as empty here.",
        "databases": {NAME: {"queries": queries}},
        "plugins": {"datasette-dashboards": {DASHBOARD: {
            "title": "Notification history",
            "description": per_day.description,
            "layout": [[CHART]],
            "charts": {CHART: chart},
        }}},
    }
