"""`poller demo` end to end through the CLI, and `poller simulate`'s servers started and stopped in-process."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading

import boto3
import pytest
from botocore.config import Config
from click.testing import CliRunner

from poller.cli import cli
from poller.commands.demo_cmd import describe_simulators, open_simulators, serve
from poller.demo.run import DEMO_KINDS
from poller.errors import ConfigError


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "state" / "demo.db"


def delivered(db_path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT kind, owner_id FROM outbox_status WHERE status = 'done'").fetchall()


def test_demo_delivers_every_kind(demo_db):
    environment = dict(os.environ)
    result = CliRunner().invoke(cli, ["demo", "--opportunities", "40", "--db", str(demo_db)])
    assert result.exit_code == 0, result.output
    assert dict(os.environ) == environment  # the simulators' endpoint and dummy keys were only set for the run
    for kind in DEMO_KINDS:
        assert kind in result.output
    assert "All 14 kinds of the day delivered" in result.output
    # the 2026 signals: deal quality, a specialist recommendation, co-sell motion, and an expiry reminder
    assert "⚠️ Deal quality dropped to 34: " in result.output and "💡 AWS recommends a specialist: " in result.output
    assert "🤝 Co-sell motion now Partner-led: " in result.output
    assert "⏰ AWS referral expires soon: SAP on AWS for Hooli (Hooli)" in result.output
    assert "alice@partner.example" in result.output
    assert f"poller --db {demo_db} state runs" in result.output
    rows = delivered(demo_db)
    assert len(rows) >= 10
    assert {kind for kind, _owner in rows} == set(DEMO_KINDS)
    assert ("opportunity_updated", "190") in rows  # the deal whose owner left went to the fallback owner
    # a deal created and submitted between the cycles is first seen already Submitted, and announced as such;
    # its customer's name reads as written in the subject (plain text, not HTML entities)
    assert "creates deal 50041 for O'Neil & Sons in HubSpot and submits it to AWS as O1000041" in result.output
    assert "📤 Submitted to AWS for review: SAP on AWS #41 (O'Neil & Sons)" in result.output
    assert "&amp;" not in result.output and "&#x27;" not in result.output
    with sqlite3.connect(demo_db) as conn:
        subject = conn.execute("SELECT subject FROM outbox WHERE subject_id = 'O1000041'").fetchone()[0]
    assert subject.endswith("(O'Neil & Sons)")


def test_demo_json_parses_and_recreates_the_database(demo_db):
    result = CliRunner().invoke(cli, ["demo", "-n", "40", "--db", str(demo_db), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["all_kinds_delivered"] is True
    assert set(report["kinds_delivered"]) == set(DEMO_KINDS)
    assert [c["summary"]["baseline"] for c in report["cycles"]] == [True, False]
    assert report["cycles"][0]["summary"]["events"] == 1  # the silent baseline only announces the pending invitation
    assert report["calls_per_notification"]["hubspot_writes"] < 1
    with sqlite3.connect(demo_db) as conn:  # recreated, not appended to
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2


def test_demo_refuses_a_database_it_did_not_make(tmp_path):
    foreign = tmp_path / "poller.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE precious (x)")
    result = CliRunner().invoke(cli, ["demo", "--db", str(foreign)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "not made by `poller demo`" in result.stderr
    with sqlite3.connect(foreign) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("precious",)]


def test_commands_have_help_with_examples():
    for name in ("demo", "simulate"):
        result = CliRunner().invoke(cli, [name, "-h"])
        assert result.exit_code == 0 and "Example:" in result.output


def test_simulate_serves_what_the_exports_point_at():
    sims = open_simulators(pc_port=0, hubspot_port=0, seed_count=12, token="t0ken")
    stop = threading.Event()
    server = threading.Thread(target=serve, args=(sims, stop))
    server.start()
    try:
        text = describe_simulators(sims, 12)
        exports = dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines()
                       if line.startswith("export "))
        assert exports["AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING"] == sims.pc.url
        assert exports["HUBSPOT_BASE_URL"] == sims.hubspot.url and exports["HUBSPOT_ACCESS_TOKEN"] == "t0ken"
        assert exports["POLLER_FALLBACK_OWNER_ID"] == "190"
        assert sims.pc.url.startswith("http://127.0.0.1:") and sims.hubspot.url.startswith("http://127.0.0.1:")
        client = boto3.client("partnercentral-selling", region_name="us-east-1",
                              endpoint_url=exports["AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING"],
                              aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
                              config=Config(retries={"total_max_attempts": 1}))
        listed = client.list_opportunities(Catalog="AWS", MaxResults=100)
        assert len(listed["OpportunitySummaries"]) == 12
        invitations = client.list_engagement_invitations(Catalog="AWS", ParticipantType="RECEIVER")
        assert len(invitations["EngagementInvitationSummaries"]) == 2
    finally:
        stop.set()
        server.join(timeout=5)
    assert not server.is_alive()
    with pytest.raises(OSError):  # stopped: nothing listens any more
        socket.create_connection(("127.0.0.1", int(sims.pc.url.rsplit(":", 1)[1])), timeout=1).close()


def test_simulate_port_in_use_is_a_one_line_usage_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match="--pc-port"):
            open_simulators(pc_port=port, hubspot_port=0, seed_count=1, token="t")
        result = CliRunner().invoke(cli, ["simulate", "--pc-port", str(port), "--hubspot-port", "0", "--seed", "1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.strip().count("\n") == 0
