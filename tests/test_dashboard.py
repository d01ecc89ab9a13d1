"""`poller dashboard`: the canned queries and the chart, as headless Chromium renders them from a real cycle's database.

The database comes from real cycles against both simulators (a delivery with one task HubSpot refuses, then a dry run
that leaves a row pending); the dashboard runs as the operator starts it (`poller dashboard --port 0`); Chromium
(Debian's package; .ci/run installs it) loads every page, JavaScript included, and the test reads the DOM it holds.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import selectors
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from headless import CHROMIUM, Chromium
from test_delivery import TASK_CREATE, baseline

from poller.cli import cli
from poller.run.cycle import run_cycle
from poller.simulators import portfolio
from poller.store import dashboard_queries

needs_extra = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("datasette", "datasette_dashboards", "uvicorn")),
    reason="the dashboard extra is not installed: pip install -e '.[dashboard]'")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not found (apt-get install chromium; "
                                                              ".ci/run installs it)")


def action_required(pc_sim, *numbers: int) -> None:
    for n in numbers:
        pc_sim.update_opportunity(portfolio.opportunity_id(n), {"LifeCycle": {"ReviewStatus": "Action Required"}})


@pytest.fixture
def history(pc_sim, hub_sim, make_app) -> Path:
    """A baseline, a delivering cycle in which HubSpot refuses one task (400: failed), a dry run (one row pending)."""
    app = baseline(pc_sim, hub_sim, make_app, count=5)
    action_required(pc_sim, 0, 1, 2, 3)
    hub_sim.fail_next(TASK_CREATE, 400, times=3)  # the batch, its half, then the one bad input alone
    assert run_cycle(app).status == "ok"
    pc_sim.update_aws_summary(portfolio.opportunity_id(4), {"Insights": {"EngagementScore": "High"}})
    assert run_cycle(app, mode="dry-run", deliver=False).status == "ok"
    app.store.db.conn.close()
    return Path(app.settings.db)


@pytest.fixture
def dashboard(history: Path, tmp_path: Path) -> Iterator[str]:
    """`poller dashboard --port 0` on that database, as a process; yields its base URL once it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLLER_", "HUBSPOT_"))}
    errors = tmp_path / "dashboard.stderr"
    with errors.open("w") as stderr:  # a file, not a pipe nobody reads: a chatty server never blocks on it
        proc = subprocess.Popen([sys.executable, "-m", "poller", "--db", str(history), "dashboard", "--port", "0"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        with selectors.DefaultSelector() as selector:  # the first line says where it listens (bound before printed)
            selector.register(proc.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=60)
        line = proc.stdout.readline() if ready else ""
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, f"no URL printed: {line!r} {proc.poll()=} {errors.read_text()}"
        assert f"serving {history} read-only at" in line
        yield found.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Rows(HTMLParser):
    """The rows of Datasette's results table (`table.rows-and-columns`) as dicts, by column heading."""

    def __init__(self, page: str):
        super().__init__()
        self.headings: list[str] = []
        self.rows: list[dict[str, str]] = []
        self._cells: list[str] | None = None
        self._text: list[str] | None = None
        self._in_table = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "rows-and-columns" in (dict(attrs).get("class") or ""):
            self._in_table = True
        elif self._in_table and tag == "tr":
            self._cells = []
        elif self._in_table and tag in ("th", "td"):
            self._text = []

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif self._in_table and tag in ("th", "td") and self._text is not None and self._cells is not None:
            self._cells.append("".join(self._text).strip())
            self._text = None
        elif self._in_table and tag == "tr" and self._cells is not None:
            if self.headings:
                self.rows.append(dict(zip(self.headings, self._cells, strict=True)))
            else:
                self.headings = self._cells
            self._cells = None


def owner_of(n: int) -> str:
    return portfolio.OWNERS[n % len(portfolio.OWNERS)][0]


@needs_extra
@needs_chromium
def test_every_canned_query_renders_rows_and_the_chart_renders(dashboard, history, tmp_path):
    with contextlib.closing(sqlite3.connect(history)) as db:  # what the database holds, to compare with the pages
        (failed_key, failed_owner), (pending_key, _) = (db.execute(
            "SELECT event_key, owner_id FROM outbox_status WHERE status = ?", [status]).fetchone()
            for status in ("failed", "pending"))
    names = [q.name for q in dashboard_queries.CANNED]
    urls = [f"{dashboard}/poller/{name}" + ("?opportunity_id=O1000000" if name == "opportunity_timeline" else "")
            for name in names]
    with Chromium(tmp_path / "profile") as browser:
        pages = [browser.dom(url) for url in urls]
        chart = browser.dom(f"{dashboard}/-/dashboards/history", wait_for="svg.marks")
    shown = {name: Rows(page).rows for name, page in zip(names, pages, strict=True)}

    # Four deal owners got one each (HubSpot refused one task: parked); the dry run's row is not routed yet.
    expected = {owner_of(n): ("hubspot", "1", "1", "0", "0") for n in range(4)}
    expected |= {failed_owner: ("hubspot", "1", "0", "0", "1"), "(not routed)": ("hubspot", "1", "0", "1", "0")}
    assert {r["owner_id"]: (r["sink"], r["notifications"], r["delivered"], r["waiting"], r["parked"])
            for r in shown["notifications_by_owner"]} == expected

    by_deal = {r["deal_id"]: r for r in shown["notifications_by_deal"]}
    assert set(by_deal) == {portfolio.deal_id(n) for n in range(5)}
    assert by_deal["50000"]["kinds"] == "review_action_required" and by_deal["50000"]["opportunity_id"] == "O1000000"
    assert by_deal["50004"]["kinds"] == "engagement_score_changed"

    per_week = {r["kind"]: int(r["notifications"]) for r in shown["notifications_by_kind_per_week"]}
    assert per_week == {"review_action_required": 4, "engagement_score_changed": 1}
    assert {r["kind"]: int(r["notifications"]) for r in shown["notifications_per_day"]} == per_week

    attention = shown["deliveries_not_done"]
    assert [(r["status"], r["event_key"]) for r in attention] == [("failed", failed_key), ("pending", pending_key)]
    assert "HTTP 400" in attention[0]["last_error"]

    runs = shown["last_runs"]
    assert [(r["mode"], r["status"]) for r in runs] == [("dry-run", "ok"), ("run", "ok"), ("run", "ok")]
    for run in runs:
        calls = json.loads(run["api_calls"])
        assert int(run["api_calls_total"]) == sum(calls.values()) > 0
        assert run["partner_central_calls"] == str(calls["partner_central"])

    timeline = shown["opportunity_timeline"]
    assert [r["entry"] for r in timeline][:1] == ["snapshot"] and "(baseline)" in timeline[0]["detail"]
    assert {r["entry"] for r in timeline} >= {"snapshot", "event", "delivery"}
    assert any("review_action_required" in r["detail"] for r in timeline if r["entry"] == "event")

    # The chart: Vega drew it after its scripts fetched the data; each bar names its day, kind and count.
    assert re.search(r'<svg[^>]*class="marks"', chart), "no Vega SVG in the chart page"
    bars = re.findall(r'aria-label="([^"]*notifications: \d+[^"]*)"', chart)
    assert any("review_action_required" in b and "notifications: 4" in b for b in bars), bars
    assert any("engagement_score_changed" in b and "notifications: 1" in b for b in bars), bars


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def rows_of(url: str) -> list[dict]:
    status, body = fetch(url)
    assert status == 200, body[:300]
    return json.loads(body)


@needs_extra
def test_no_personal_data_is_shown_whatever_the_sql_and_a_run_writing_meanwhile_is_seen(
        dashboard, history, pc_sim, hub_sim, make_app):
    owners = rows_of(f"{dashboard}/poller.json?_shape=array&sql=" + urllib.parse.quote(
        "select owner_id, email, first_name, last_name from owners_cache"))
    assert owners and all(o["owner_id"] and (o["email"], o["first_name"], o["last_name"]) == (None, None, None)
                          for o in owners)
    # Nothing is inferred from a hidden column either: it reads as NULL in WHERE clauses too.
    (hits,) = rows_of(f"{dashboard}/poller.json?_shape=array&sql=" + urllib.parse.quote(
        "select count(*) as n from owners_cache where email like '%@%'"))
    assert hits["n"] == 0
    rows = rows_of(f"{dashboard}/poller/outbox.json?_shape=array")
    assert rows and all(r["subject"] and r["task_body"] is None and r["note_body"] is None for r in rows)
    opportunities = rows_of(f"{dashboard}/poller/opportunities.json?_shape=array")
    assert opportunities and all(o["stage"] and o["snapshot"] is None for o in opportunities)
    assert all(e["payload"] is None for e in rows_of(f"{dashboard}/poller/events.json?_shape=array"))
    assert fetch(f"{dashboard}/poller.db")[0] != 200  # the file itself is not offered for download

    # The dashboard reads the live file (WAL, mode=ro), not a copy frozen at start: a run that commits meanwhile shows.
    app = make_app(hub=hub_sim, fallback_owner_id="190", sweep_period=0.0)
    action_required(pc_sim, 4)
    assert run_cycle(app).status == "ok"
    kinds = {r["kind"]: r["notifications"] for r in rows_of(f"{dashboard}/poller/notifications_per_day.json"
                                                            "?_shape=array")}
    assert kinds == {"review_action_required": 5, "engagement_score_changed": 1}


def test_the_dashboard_connection_cannot_write(history):
    conn = dashboard_queries.connect(history)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM outbox")
    assert conn.execute("SELECT count(*), max(task_body) FROM outbox").fetchone() == (5, None)


def test_without_the_extra_it_exits_2_saying_how_to_install_it(cli_db, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasette_dashboards", None)  # as if the extra were not installed

    result = CliRunner().invoke(cli, ["dashboard"], catch_exceptions=False)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["Error: poller dashboard needs the dashboard extra (datasette_dashboards is "
                                          "missing): pip install 'poller[dashboard]' (from a checkout: pip install -e "
                                          "'.[dashboard]')"]


@needs_extra
def test_a_missing_or_older_database_or_a_busy_port_is_one_line_exit_2(cli_db, make_app):
    missing = CliRunner().invoke(cli, ["dashboard"], catch_exceptions=False)
    assert missing.exit_code == 2 and missing.stderr.splitlines() == [
        f"Error: db: {cli_db} does not exist (POLLER_DB or --db)"]

    store = make_app(db=cli_db).store  # an empty state database, as a poller one migration older left it
    (last,) = store.db.execute("SELECT name FROM _sqlite_migrations ORDER BY id DESC LIMIT 1").fetchone()
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = ?", [last])
    older = CliRunner().invoke(cli, ["dashboard"], catch_exceptions=False)
    assert older.exit_code == 2 and older.stderr.splitlines() == [
        f"Error: db: {cli_db} predates this version of poller (pending migration {last}); the next `poller run` "
        "upgrades it (POLLER_DB or --db)"]

    store.db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "SELECT migration_set, ?, applied_at FROM _sqlite_migrations LIMIT 1", [last])
    store.db.conn.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = CliRunner().invoke(cli, ["dashboard", "--port", str(port)], catch_exceptions=False)
    assert busy.exit_code == 2 and busy.stdout == ""
    assert busy.stderr.splitlines() == [f"Error: --port {port}: 127.0.0.1:{port} cannot be used (Address already in "
                                        "use); choose another"]
