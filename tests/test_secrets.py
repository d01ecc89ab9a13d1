"""Secrets: a malformed token is refused at load time, and no error, log line, output or stored row carries one."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from poller.cli import cli
from poller.redaction import forget_all, redact, register
from poller.simulators.portfolio import seed
from poller.simulators.server import LoopbackServer, Request, Response

TOKEN = "pat-na1-0a1b2c3d-4e5f-6789-abcd-ef0123456789"


@pytest.fixture(autouse=True)
def no_registered_secrets():
    forget_all()
    yield
    forget_all()


@pytest.fixture
def env(cli_db):
    return cli_db.parent


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def one_error_line(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- the token is checked when it is loaded


@pytest.mark.parametrize("content", [
    f"{TOKEN}\nsecond-line\n",  # the classic: a token file with a second line
    f"{TOKEN} \n",
    f" {TOKEN}",
    f"{TOKEN}\x00",
    f"{TOKEN}\x1b[0m",
    f"{TOKEN}é",
])
def test_a_token_file_with_whitespace_control_or_non_ascii_characters_is_refused_at_load(env, pc_sim, content):
    token_file = env / "token"
    token_file.write_text(content, encoding="utf-8")

    result = invoke("run", env={"HUBSPOT_ACCESS_TOKEN_FILE": str(token_file)})

    line = one_error_line(result, "hubspot_access_token", "HUBSPOT_ACCESS_TOKEN_FILE")
    assert TOKEN not in result.output and "second-line" not in result.output
    assert "position" in line
    assert pc_sim.operation_counts() == {}  # refused before anything ran
    assert not (env / "poller.db").exists()


def test_a_binary_token_file_is_refused_in_one_line(env):
    token_file = env / "token"
    token_file.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    one_error_line(invoke("run", env={"HUBSPOT_ACCESS_TOKEN_FILE": str(token_file)}),
                   "hubspot_access_token", "not a text token")


@pytest.mark.parametrize("value", [f"{TOKEN} x", f"{TOKEN}\tx", f"{TOKEN}\u200b", f"Bearer {TOKEN}"])
def test_a_token_variable_with_whitespace_or_invisible_characters_is_refused(env, value):
    result = invoke("run", env={"HUBSPOT_ACCESS_TOKEN": value})
    one_error_line(result, "hubspot_access_token", "(HUBSPOT_ACCESS_TOKEN)")
    assert TOKEN not in result.output


def test_one_trailing_newline_of_a_token_file_is_not_part_of_the_token(env, pc_sim, hub_sim):
    seed(pc_sim, hub_sim, 2)
    token_file = env / "token"
    token_file.write_text("sim-token\n")  # what `echo token > file` and most secret mounts produce

    result = invoke("run", "--json", env={"HUBSPOT_ACCESS_TOKEN_FILE": str(token_file),
                                          "HUBSPOT_BASE_URL": hub_sim.url})

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["status"] == "ok"
    assert hub_sim.call_count("/crm/v3/objects/deals/batch/read") == 1  # the token was accepted by HubSpot


# --- where the token may travel


@pytest.mark.parametrize("url", ["http://api.hubapi.com", "http://10.0.0.5:8080", "http://127.0.0.1.nip.io",
                                 "http://[2001:db8::1]/"])
def test_plain_http_to_another_host_is_refused_because_the_token_would_travel_in_clear(env, url):
    one_error_line(invoke("run", "--dry-run", env={"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_BASE_URL": url}),
                   "hubspot_base_url", "HUBSPOT_BASE_URL", "https")


@pytest.mark.parametrize("url", ["https://api.hubapi.com", "http://localhost:8002", "http://127.0.0.1:9",
                                 "http://127.1.2.3:9", "http://[::1]:9"])
def test_https_anywhere_and_plain_http_to_loopback_are_accepted(env, url):
    result = invoke("config", "show", "--json", env={"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_BASE_URL": url})
    assert result.exit_code == 0, result.output
    assert {r["setting"]: r["value"] for r in json.loads(result.stdout)}["hubspot_base_url"] == url


@pytest.mark.parametrize(("url", "said"), [
    ("https://pc.example/o/{oops}", "{oops}"),
    ("https://pc.example/o/{id.__class__}", "{id.__class__}"),
    ("https://pc.example/o/{id[0]}", "{id[0]}"),
    ("https://pc.example/o/{id!r}", "{id!r}"),
    ("https://pc.example/o/{}", "{}"),
    ("https://pc.example/o/{id}/{id}", "2 {id} placeholders"),
    ("https://pc.example/o/", "0 {id} placeholders"),
    ("https://pc.example/o/{id", "not a valid template"),
    ("javascript:alert(1)//{id}", "not an https URL"),
    ("http://pc.example/o/{id}", "not an https URL"),
])
def test_the_partner_central_link_needs_https_and_exactly_one_id_placeholder(env, url, said):
    from_env = invoke("run", "--dry-run", env={"POLLER_PARTNER_CENTRAL_URL": url})
    one_error_line(from_env, "partner_central_url", said, "(POLLER_PARTNER_CENTRAL_URL)")

    (env / "poller.toml").write_text(f"partner_central_url = {json.dumps(url)}\n")
    one_error_line(invoke("run", "--dry-run"), "partner_central_url", said)


# --- one redactor for every way out


class EchoingProxy:
    """A misbehaving gateway in front of HubSpot: it refuses every request and quotes the Authorization header
    back, as is, in its repr form and percent-encoded (real proxies and WAFs do this in their error pages)."""

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        return Response.json(400, {"status": "error", "category": "VALIDATION_ERROR",
                                   "message": f"header rejected: {auth!r} (raw {auth}; as sent {quote(auth)})"})


@pytest.fixture
def proxy():
    server = LoopbackServer(EchoingProxy()).start()
    yield server
    server.stop()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_error_quoting_the_token_is_redacted_in_logs_output_state_and_the_run_row(env, pc_sim, proxy, log_format):
    seed(pc_sim, None, 2)  # opportunities linked to deals: the cycle reads the deals through the proxy
    settings = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_BASE_URL": proxy.url, "POLLER_LOG_FORMAT": log_format}

    result = invoke("run", "--json", env=settings)
    text = invoke("run", env=settings)
    runs = invoke("state", "runs", env=settings)
    runs_json = invoke("state", "runs", "--json", env=settings)

    assert proxy.calls, "the cycle never reached the proxy"
    assert result.exit_code == 1 and text.exit_code == 1
    summary = json.loads(result.stdout)["summary"]
    assert summary["status"] == "failed" and "header rejected: 'Bearer ***'" in summary["error"]
    assert "error: " in text.stderr and "Bearer ***" in text.stderr
    assert "Bearer ***" in runs_json.stdout
    with sqlite3.connect(env / "poller.db") as conn:
        dump = "\n".join(conn.iterdump())
    for output in (result.stdout, result.stderr, text.stdout, text.stderr, runs.stdout, runs_json.stdout, dump):
        assert TOKEN not in output
        assert quote(TOKEN) not in output


def test_a_crash_message_quoting_the_token_is_redacted_on_the_error_line(env, monkeypatch):
    # The last resort of every command: an unexpected exception becomes one line on stderr.
    from poller.commands import config_cmd

    def boom(*_args, **_kwargs):
        raise RuntimeError(f"client failed with headers {{'Authorization': 'Bearer {TOKEN}'}}")

    monkeypatch.setattr(config_cmd, "effective", boom)
    result = invoke("config", "show", env={"HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: RuntimeError: client failed with headers {'Authorization': 'Bearer ***'}"


@pytest.mark.parametrize("secret", [TOKEN, "wJalrXUtnFEMI/K7MDENG+bPxRfiCY/EXAMPLEKEY", "tok with space\nand line"])
def test_the_redactor_masks_every_form_a_secret_takes_in_text(secret):
    register([secret])
    forms = [secret, repr(secret), repr(secret.encode()), json.dumps(secret), json.dumps(repr(secret.encode())),
             quote(secret, safe=""), quote(secret), f"Bearer {secret}"]
    for form in forms:
        masked = redact(f"error: {form}; done")
        assert masked.startswith("error: ") and masked.endswith("; done")
        assert "***" in masked, form
        for piece in (secret, quote(secret, safe=""), *secret.split()):
            if len(piece) >= 8:
                assert piece not in masked, (form, masked)
    assert redact("nothing secret here") == "nothing secret here"
