"""The cursor never passes the listing's request time plus the skew; the sweep follows the period in force now;
`poller run --sweep` reads every open AWS summary at once."""

from __future__ import annotations

import datetime as dt
import logging

from click.testing import CliRunner
from cycle_helpers import cursor, cycle, event_rows, tick

from poller.cli import cli
from poller.clock import utc_now
from poller.core.timefmt import iso
from poller.simulators.portfolio import opportunity_id, seed
from poller.store.budget import Budgets


def test_a_record_dated_in_the_future_is_read_but_later_changes_are_still_seen(pc_sim, make_app, frozen, caplog):
    seed(pc_sim, None, 5)
    app = make_app()
    cycle(app)
    tick(frozen, 5)
    future = opportunity_id(1)
    pc_sim.update_opportunity(future, {"LifeCycle": {"ReviewStatus": "In review"},
                                       "LastModifiedDate": "2999-01-01T00:00:00Z"})
    caplog.set_level(logging.WARNING, logger="poller")

    first = cycle(app)

    assert (first.status, first.exit_code) == ("ok", 0)
    assert app.store.records.opportunities([future])[future].snapshot.review_status == "In review"  # still read
    assert any(future in r.getMessage() and "future" in r.getMessage() for r in caplog.records)
    assert cursor(app) <= iso(utc_now() + dt.timedelta(minutes=5))
    tick(frozen, 5)
    later = opportunity_id(3)
    pc_sim.update_opportunity(later, {"LifeCycle": {"ReviewStatus": "Action Required"}})

    second = cycle(app)

    assert [(n.kind, n.subject_id) for n in second.notifications] == [("review_action_required", later)]
    tick(frozen, 5)
    pc_sim.reset_calls()
    idle = cycle(app)  # the future-dated record comes back in every listing, but costs no read
    assert idle.notifications == [] and pc_sim.operation_counts()["GetOpportunity"] == 0


def test_a_cursor_an_older_version_left_in_the_future_is_pulled_back(pc_sim, make_app, frozen, caplog):
    seed(pc_sim, None, 5)
    app = make_app()
    cycle(app)
    newest = cursor(app)
    app.store.db.execute("UPDATE cursors SET value = '2999-01-01T00:00:00.000000Z' WHERE name = 'opportunities'")
    tick(frozen, 5)
    changed = opportunity_id(2)
    pc_sim.update_opportunity(changed, {"LifeCycle": {"ReviewStatus": "Rejected"}})
    caplog.set_level(logging.WARNING, logger="poller")

    result = cycle(app)

    assert [(n.kind, n.subject_id) for n in result.notifications] == [("review_rejected", changed)]
    assert any("pulling it back" in r.getMessage() and newest in r.getMessage() for r in caplog.records)
    assert cursor(app) < "2999"


def test_lowering_the_sweep_period_takes_effect_at_once(pc_sim, make_app, frozen, tmp_path):
    db = tmp_path / "poller.db"
    seed(pc_sim, None, 6)
    hourly = make_app(db=db, sweep_period=3600.0)
    cycle(hourly)
    target = opportunity_id(2)
    pc_sim.update_aws_summary(target, {"Insights": {"EngagementScore": "High"}})  # does not move LastModifiedDate
    tick(frozen, 10)
    assert cycle(hourly).summary["swept"] == 0  # hourly: due 30 to 90 minutes after the last read

    every_5m = make_app(db=db, sweep_period=300.0)  # the operator lowers POLLER_SWEEP_PERIOD to 5m
    tick(frozen, 1)
    result = cycle(every_5m)

    assert result.summary["swept"] == 6  # each read 11 minutes ago: past 5m × [0.5, 1.5)
    assert [(n.kind, n.subject_id) for n in result.notifications] == [("engagement_score_changed", target)]
    tick(frozen, 1)
    assert cycle(every_5m).summary["swept"] == 0  # just read: not due again for 2.5 to 7.5 minutes


def test_the_sweep_keeps_an_even_spread_by_id(pc_sim, make_app, frozen):
    seed(pc_sim, None, 40)
    app = make_app(sweep_period=3600.0)
    cycle(app)
    baseline_read = iso(utc_now())
    swept = []
    for _ in range(9):  # 9 cycles of 10 minutes: one and a half periods
        tick(frozen, 10)
        swept.append(cycle(app).summary["swept"])
    assert swept[:2] == [0, 0]  # nothing is due within half a period of its read
    reads = [r[0] for r in app.store.db.execute("SELECT aws_read_at FROM opportunities")]
    assert len(reads) == 40 and min(reads) > baseline_read  # within 1.5 periods every one was read again…
    assert max(swept) <= 15 and len([n for n in swept if n]) >= 5  # …spread over the period, not all at once


def test_run_sweep_reads_every_open_aws_summary_now(pc_sim, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN_FILE", "POLLER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLLER_DB", str(tmp_path / "poller.db"))
    monkeypatch.setenv("POLLER_PC_REQUESTS_PER_SECOND", "10")
    monkeypatch.setenv("POLLER_DELIVER", "false")  # no HubSpot here: recording only is intended
    seed(pc_sim, None, 8)
    runner = CliRunner()
    assert runner.invoke(cli, ["run"], catch_exceptions=False).exit_code == 0
    pc_sim.update_aws_summary(opportunity_id(5), {"Insights": {"EngagementScore": "High"}})  # AWS changed something
    plain = runner.invoke(cli, ["run", "--json"], catch_exceptions=False)
    assert '"swept": 0' in plain.stdout  # nothing is due yet with the hourly default

    pc_sim.reset_calls()
    result = runner.invoke(cli, ["run", "--sweep"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "8 swept" in result.stdout
    assert pc_sim.operation_counts()["GetAwsOpportunitySummary"] == 8
    assert "engagement_score_changed" in result.stdout and "AWS engagement score rose to High" in result.stdout
    helped = runner.invoke(cli, ["run", "--help"])
    assert "--sweep" in helped.output and "poller run --sweep" in helped.output


def test_run_sweep_stops_at_the_read_budget_and_the_next_cycle_goes_on(pc_sim, make_app, frozen):
    from poller.run.cycle import run_cycle

    seed(pc_sim, None, 150)
    app = make_app()
    cycle(app)
    tight = make_app(pc_daily_budget=400)  # the baseline spent 303 reads; the lists, then the sweep takes what is left
    tick(frozen, 5)
    result = run_cycle(tight, mode="dry-run", deliver=False, sweep_all=True)
    assert result.status == "partial" and 0 < result.summary["swept"] < 100
    assert Budgets(tight.store.db).used_last_24h("partner_central", tight.clock()) == 400  # all of it, never more
    assert "read budget" in result.summary["deferred"]
    assert event_rows(app) == []
