"""Configuration as an operator meets it: poller.toml, the environment winning over it, and `poller config`."""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
from click.testing import CliRunner

from poller.app import rules_from
from poller.cli import cli
from poller.config import ENV, Settings, load_settings
from poller.core.model import KINDS
from poller.hubspot.access import HUBSPOT_SCOPES
from poller.partner_central.access import IAM_ACTIONS
from poller.simulators import portfolio
from poller.simulators.hubspot.simulator import HubSpotSimulator
from poller.simulators.portfolio import invitation_record, seed

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "poller.example.toml"


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No setting from the machine running the tests: every variable the job reads is unset, cwd is empty."""
    monkeypatch.chdir(tmp_path)
    for var in (*ENV.values(), "HUBSPOT_ACCESS_TOKEN_FILE", "POLLER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("POLLER_DB", str(tmp_path / "poller.db"))
    # Nothing here may reach a real AWS endpoint; tests that need Partner Central add the simulator over this.
    monkeypatch.setenv("AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING", "http://127.0.0.1:9")
    return tmp_path


@pytest.fixture
def sims_env(clean_env, pc_sim, hub_sim, monkeypatch):
    """Both simulators with something to read: two deals and opportunities, owners, one pending referral."""
    seed(pc_sim, hub_sim, 2)
    pc_sim.put_invitation(invitation_record(1))
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "sim-token")
    monkeypatch.setenv("HUBSPOT_BASE_URL", hub_sim.url)
    monkeypatch.setenv("POLLER_RETRY_ATTEMPTS", "1")
    return clean_env


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def write_toml(path: Path, text: str) -> Path:
    target = path / "poller.toml"
    target.write_text(text)
    return target


# --- bad settings: one line naming the setting, exit 2, no traceback

BAD_FILES = [
    ('colour = "blue"\n', "colour: unknown setting in poller.toml"),
    ('hubspot_access_token = "pat-na1-123"\n', "hubspot_access_token: unknown setting"),  # secrets stay out of files
    ('hubspot_requests_per_10s = "many"\n', "hubspot_requests_per_10s: expected a positive whole number"),
    ("catalog = 5\n", "catalog: expected text, got int"),
    ('catalog = "Production"\n', "catalog: 'Production' is not one of AWS, Sandbox"),
    ('hubspot_base_url = "api.hubapi.com"\n', "hubspot_base_url: 'api.hubapi.com' is not an http(s) URL"),
    ('lookback = "15 minutes"\n', "lookback: '15 minutes' is not a duration"),
    ('sweep_period = "-1h"\n', "sweep_period:"),
    ('muted_kinds = ["review_aproved"]\n', "muted_kinds: unknown event kind 'review_aproved'"),
    ("[due_hours]\nreview_aproved = 12\n", "due_hours.review_aproved: unknown event kind"),
    ("[due_hours]\nreview_approved = 0\n", "due_hours.review_approved: expected a positive whole number of hours"),
    ('[priority]\nreview_approved = "URGENT"\n', "priority.review_approved: expected one of HIGH, MEDIUM, LOW"),
    ("pc_requests_per_second = 25\n", "pc_requests_per_second: must be above 0 and at most 10"),
    ('fallback_owner_id = "alice@partner.example"\n', "fallback_owner_id: 'alice@partner.example' is not a HubSpot"),
    ("lookback = \n", "config: poller.toml is not valid TOML"),
    ('[conflict_mapping]\nclose = "closedate"\n', "conflict_mapping.close: unknown field"),
    ('[conflict_mapping]\ntitle = "Deal Name"\n', "conflict_mapping.title: 'Deal Name' is not a HubSpot deal property"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
@pytest.mark.parametrize("command", [("config", "check"), ("run", "--dry-run")])
def test_a_bad_setting_in_poller_toml_is_one_line_naming_it_with_exit_2(clean_env, monkeypatch, content, message,
                                                                        command):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-test-token")
    write_toml(clean_env, content)
    result = invoke(*command)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


BAD_ENV = [
    ({"HUBSPOT_BASE_URL": "ftp://api.hubapi.com"}, "hubspot_base_url: 'ftp://api.hubapi.com' is not an http(s) URL"),
    ({"POLLER_SWEEP_PERIOD": "hourly"}, "sweep_period: 'hourly' is not a duration"),
    ({"POLLER_MUTED_KINDS": "review_approved,score"}, "muted_kinds: unknown event kind 'score'"),
    ({"POLLER_RETRY_ATTEMPTS": "three"}, "retry_attempts: expected a positive whole number"),
    ({"POLLER_CATALOG": "aws"}, "catalog: 'aws' is not one of AWS, Sandbox (POLLER_CATALOG)"),
    ({"HUBSPOT_ACCESS_TOKEN_FILE": "/nonexistent/token"}, "hubspot_access_token: cannot read HUBSPOT_ACCESS_TOKEN_FILE"),
    ({"POLLER_CONFIG": "/nonexistent/poller.toml"}, "config: file /nonexistent/poller.toml not found"),
]


@pytest.mark.parametrize(("env", "message"), BAD_ENV)
def test_a_bad_setting_in_the_environment_is_one_line_naming_it_with_exit_2(clean_env, monkeypatch, env, message):
    if "HUBSPOT_ACCESS_TOKEN_FILE" not in env:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-test-token")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = invoke("config", "check")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_config_check_requires_the_hubspot_token_unless_told_to_skip_hubspot(clean_env, pc_sim):
    result = invoke("config", "check")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: hubspot_access_token: not set (HUBSPOT_ACCESS_TOKEN")
    assert len(result.stderr.strip().splitlines()) == 1
    assert pc_sim.operation_counts() == {}  # settings first: no API call with a bad configuration

    seed(pc_sim, None, 1)
    partner_only = invoke("config", "check", "--skip-hubspot")
    assert partner_only.exit_code == 0, partner_only.output
    assert "HubSpot" not in partner_only.stdout


# --- the file and the environment


def test_the_example_file_documents_every_setting_and_loads_as_the_defaults(clean_env):
    data = tomllib.loads(EXAMPLE.read_text())
    documented = set(data)
    settable = {f.name for f in fields(Settings)} - {"hubspot_access_token"}  # secrets never go in the file
    assert documented == settable
    text = EXAMPLE.read_text()
    for name, var in ENV.items():
        assert var in text, f"{var} ({name}) is not mentioned in poller.example.toml"
    assert set(data["due_hours"]) | set(data["priority"]) == set(KINDS)
    settings = load_settings(str(EXAMPLE), environ={})
    defaults = Settings()
    for name in settable - {"due_hours", "priority", "partner_central_url"}:  # these three: compared as rules
        assert getattr(settings, name) == getattr(defaults, name), name
    assert rules_from(settings) == rules_from(defaults)


FULL = """
db = "{db}"
catalog = "Sandbox"
hubspot_base_url = "http://127.0.0.1:9/hubspot"
partner_central_url = "https://pc.example/opportunity/{{id}}"
fallback_owner_id = "190"
deal_id_property = "aws_opportunity_id"
muted_kinds = ["resources_available", "opportunity_updated"]
score_change_threshold = 15
high_engagement_score = 90
conflict_reraise_hours = 48
lookback = "30m"
sweep_period = "2h"
run_time_budget = "5m"
http_timeout = "20s"
retry_attempts = 3
pc_requests_per_second = 2.5
pc_daily_budget = 20000
hubspot_requests_per_10s = 40
log_format = "json"

[due_hours]
review_action_required = 12

[priority]
review_rejected = "HIGH"

[conflict_mapping]
target_close_date = "aws_close_date"
title = ""
"""


def test_every_setting_works_from_the_file_and_the_environment_wins(clean_env, monkeypatch):
    write_toml(clean_env, FULL.format(db=clean_env / "from-file.db"))
    monkeypatch.setenv("POLLER_LOOKBACK", "5m")
    monkeypatch.setenv("POLLER_CATALOG", "AWS")
    monkeypatch.setenv("POLLER_MUTED_KINDS", "conflict_detected")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-very-secret")
    monkeypatch.delenv("POLLER_DB")

    result = invoke("config", "show", "--json")

    assert result.exit_code == 0, result.output
    shown = {row["setting"]: (row["value"], row["source"]) for row in json.loads(result.stdout)}
    assert shown["lookback"] == (300.0, "env POLLER_LOOKBACK")  # env wins over the file's 30m
    assert shown["catalog"] == ("AWS", "env POLLER_CATALOG")
    assert shown["muted_kinds"] == (["conflict_detected"], "env POLLER_MUTED_KINDS")
    file = "file poller.toml"
    assert shown["db"] == (str(clean_env / "from-file.db"), file)
    assert shown["sweep_period"] == (7200.0, file)
    assert shown["run_time_budget"] == (300.0, file)
    assert shown["http_timeout"] == (20.0, file)
    assert shown["hubspot_base_url"] == ("http://127.0.0.1:9/hubspot", file)
    assert shown["partner_central_url"] == ("https://pc.example/opportunity/{id}", file)
    assert shown["fallback_owner_id"] == ("190", file)
    assert shown["deal_id_property"] == ("aws_opportunity_id", file)
    assert shown["retry_attempts"] == (3, file)
    assert shown["pc_requests_per_second"] == (2.5, file)
    assert shown["pc_daily_budget"] == (20000, file)
    assert shown["hubspot_requests_per_10s"] == (40, file)
    assert shown["log_format"] == ("json", file)
    assert shown["score_change_threshold"] == (15, file)
    assert shown["due_hours"] == ({"review_action_required": 12}, file)
    assert shown["priority"] == ({"review_rejected": "HIGH"}, file)
    assert shown["hubspot_access_token"] == ("*** (set)", "env HUBSPOT_ACCESS_TOKEN")
    assert "very-secret" not in result.output

    # The rules the cycle uses are the ones configured.
    rules = rules_from(load_settings())
    assert rules.priority_of("review_rejected") == "HIGH"
    assert rules.due_for("review_rejected", "HIGH") == 72  # its own due time stays unless due_hours changes it
    assert rules.due_for("aws_seller_assigned", "MEDIUM") == 72  # raised below its priority: that priority's
    assert rules.due_for("review_action_required", "HIGH") == 12
    assert rules.muted_kinds == frozenset({"conflict_detected"})
    assert (rules.score_change_threshold, rules.high_engagement_score, rules.conflict_reraise_hours) == (15, 90, 48)
    assert rules.opportunity_url("O123") == "https://pc.example/opportunity/O123"
    assert rules.conflict_fields == frozenset({"expected_spend", "target_close_date"})  # title = "" turns it off
    assert dict(load_settings().conflict_mapping)["target_close_date"] == "aws_close_date"


def test_config_show_text_lists_each_setting_with_its_source_and_no_token(clean_env, monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-very-secret")
    # A deep path, as on a CI runner or an EFS mount: the source column must show it whole.
    deep = clean_env / ("d" * 60) / ("e" * 60) / "poller.example.toml"
    deep.parent.mkdir(parents=True)
    deep.write_text(EXAMPLE.read_text())
    result = invoke("--config", str(deep), "config", "show")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert "15m" not in lines["lookback"] and "900s" in lines["lookback"]
    assert lines["catalog"].rstrip().endswith(f"file {deep}")
    assert "very-secret" not in result.output and "***" in lines["hubspot_access_token"]


# --- poller config check against the simulators


def checks(result) -> dict[str, tuple[bool, str]]:
    return {f"{c['system']}: {c['name']}": (c["ok"], c["detail"]) for c in json.loads(result.stdout)["checks"]}


def test_config_check_against_both_simulators_passes(sims_env, pc_sim, hub_sim):
    text = invoke("config", "check")
    assert text.exit_code == 0, text.output
    assert "all 12 checks passed" in text.stdout
    assert "FAIL" not in text.stdout

    result = invoke("config", "check", "--json")
    assert result.exit_code == 0
    found = checks(result)
    for action in IAM_ACTIONS:
        assert found[f"Partner Central: {action.split(':')[1]}"][0] is True, action
    for name in ("owners", "deals read", "tasks read", "tasks create", "notes create"):
        assert found[f"HubSpot: {name}"][0] is True, name
    assert hub_sim.tasks() == [] and hub_sim.notes() == []  # the create checks create nothing


def test_config_check_reports_a_bad_token_as_such(sims_env, monkeypatch, hub_sim):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-wrong")
    result = invoke("config", "check")
    assert result.exit_code == 1
    line = next(line for line in result.stdout.splitlines() if line.startswith("HubSpot"))
    assert "FAIL" in line and "token rejected (HTTP 401)" in line
    assert "pat-na1-wrong" not in result.output
    assert "1 of " in result.stdout and "checks failed" in result.stdout


def test_config_check_names_missing_hubspot_scopes(sims_env, monkeypatch, pc_sim):
    scopes = set(HUBSPOT_SCOPES) - {"crm.objects.owners.read", "crm.objects.deals.read"}
    with HubSpotSimulator(token="sim-token", granted_scopes=scopes) as narrow:
        for owner_id, email, first, last in portfolio.OWNERS:
            narrow.add_owner(owner_id, email, first, last)
        monkeypatch.setenv("HUBSPOT_BASE_URL", narrow.url)
        result = invoke("config", "check", "--json")
    assert result.exit_code == 1
    found = checks(result)
    assert found["HubSpot: owners"] == (False, "missing scopes: crm.objects.owners.read")
    assert found["HubSpot: deals read"] == (
        False, "missing scopes (any one of): crm.objects.deals.read, crm.objects.deals.write")
    assert found["HubSpot: tasks create"][0] is True


def test_config_check_names_a_missing_iam_permission(sims_env, pc_sim):
    pc_sim.fail_next("ListOpportunities", "AccessDeniedException",
                     message="User: arn:aws:iam::123456789012:role/poller is not authorized to perform: "
                             "partnercentral:ListOpportunities")
    result = invoke("config", "check", "--json")
    assert result.exit_code == 1
    ok, detail = checks(result)["Partner Central: ListOpportunities"]
    assert not ok and detail.startswith("missing IAM permission partnercentral:ListOpportunities")
    assert checks(result)["Partner Central: ListEngagementInvitations"][0] is True


def test_config_check_without_aws_credentials_says_so(sims_env, monkeypatch, tmp_path, pc_sim):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = invoke("config", "check", "--json")
    assert result.exit_code == 1
    ok, detail = checks(result)["Partner Central: AWS credentials"]
    assert not ok and "none found" in detail
    assert pc_sim.operation_counts() == {}


def test_config_check_offline_calls_no_api(sims_env, pc_sim, hub_sim):
    hub_sim.reset_calls()
    result = invoke("config", "check", "--offline")
    assert result.exit_code == 0, result.output
    assert "all 2 checks passed" in result.stdout
    assert pc_sim.operation_counts() == {} and hub_sim.calls == []
