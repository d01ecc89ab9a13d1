"""Shared fixtures: the two simulators on loopback, a frozen clock, and an app wired to both through real clients."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from freezegun import freeze_time
from tenacity import stop_after_attempt, wait_none

from poller.app import App, build_app
from poller.config import load_settings
from poller.retry import RetrySettings
from poller.simulators.partner_central.simulator import PartnerCentralSimulator

START = "2026-03-02T09:00:00Z"


@pytest.fixture(autouse=True)
def restore_logging():
    """`poller` configures the root logger for the process; put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def frozen():
    with freeze_time(START) as frozen:  # frozen.tick(dt.timedelta(minutes=5)) between cycles
        yield frozen


@pytest.fixture
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def pc_sim(aws_env, monkeypatch):
    with PartnerCentralSimulator() as sim:
        # The product finds the simulator the way it finds any endpoint: boto3's own environment override.
        monkeypatch.setenv("AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING", sim.url)
        yield sim


@pytest.fixture
def hub_sim():
    from poller.simulators.hubspot.simulator import HubSpotSimulator

    with HubSpotSimulator(token="sim-token") as sim:
        yield sim


FAST_RETRY = RetrySettings(stop=stop_after_attempt(3), wait=wait_none())


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch):
    """Build an App on a temp database; pass hub=<HubSpotSimulator> to deliver, and settings as keyword overrides."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("POLLER_CONFIG", raising=False)

    def build(hub=None, db: Path | None = None, **overrides) -> App:
        env = {"POLLER_DB": str(db or tmp_path / "poller.db"), "POLLER_SWEEP_PERIOD": "1h"}
        if hub is not None:
            env.update({"HUBSPOT_ACCESS_TOKEN": "sim-token", "HUBSPOT_BASE_URL": hub.url})
        settings = load_settings(environ=env, overrides=overrides)
        return build_app(settings, pacing=False, retry=FAST_RETRY)

    return build


def tick(frozen, minutes: float = 5) -> None:
    frozen.tick(dt.timedelta(minutes=minutes))


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch, pc_sim) -> Path:
    """The command line as an operator runs it: an empty working folder, no setting from the machine running the
    tests, the state database in the temp folder (not created yet), Partner Central paced at its maximum."""
    from poller.config import ENV, TOKEN_FILE_ENV

    monkeypatch.chdir(tmp_path)  # no stray ./poller.toml
    for var in (*ENV.values(), TOKEN_FILE_ENV, "POLLER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    db = tmp_path / "poller.db"
    monkeypatch.setenv("POLLER_DB", str(db))
    monkeypatch.setenv("POLLER_PC_REQUESTS_PER_SECOND", "10")
    monkeypatch.setenv("POLLER_RETRY_ATTEMPTS", "1")
    return db


@pytest.fixture
def write_templates(tmp_path: Path):
    """Write a template_dir: {relative name: text} into tmp_path/templates, and return that folder."""

    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / "templates" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return tmp_path / "templates"

    return write
