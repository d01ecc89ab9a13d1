"""Templates as an operator meets them: a custom one changes what HubSpot receives, a broken one stops start-up and
`config check` naming file and line, and `poller preview` shows a kind before deploying."""

from __future__ import annotations

import html
import json
import re

import pytest
from click.testing import CliRunner

from poller.cli import cli
from poller.config import ENV, TOKEN_FILE_ENV
from poller.core.model import KINDS
from poller.run.cycle import run_cycle
from poller.simulators.portfolio import FALLBACK_OWNER, opportunity_id, seed

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in (*ENV.values(), TOKEN_FILE_ENV, "POLLER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("POLLER_DB", str(tmp_path / "poller.db"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING", "http://127.0.0.1:9")  # nothing real is reached
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_a_custom_template_changes_what_hubspot_receives_and_partner_central_text_stays_safe(pc_sim, hub_sim,
                                                                                              make_app, write_templates):
    templates = write_templates({
        "review_approved/task_subject.txt.j2": "{{ emoji }} Co-sell approved: {{ label }} [{{ priority }}]",
        "note_body.html.j2": "<p><b>{{ headline }}</b> on {{ label }}</p>"
                             "{% autoescape false %}<p>{{ label }}</p>{% endautoescape %}{{ link }}",
    })
    oid = opportunity_id(1)
    seed(pc_sim, hub_sim, 2)
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "In review"},
                                    "Project": {"Title": f"Migration {SCRIPT}\u202e\u0007"}})
    app = make_app(hub=hub_sim, fallback_owner_id=FALLBACK_OWNER[0], template_dir=str(templates))
    assert run_cycle(app).summary["baseline"]
    pc_sim.update_opportunity(oid, {"LifeCycle": {"ReviewStatus": "Approved"}})

    assert run_cycle(app).status == "ok"

    [task] = [t["properties"] for t in hub_sim.tasks()]
    [note] = [n["properties"]["hs_note_body"] for n in hub_sim.notes()]
    label = f"Migration {SCRIPT}"
    # The subject is plain text as HubSpot shows it: no entity, nothing invisible (the bidi override, the bell).
    assert task["hs_task_subject"].startswith(f"✅ Co-sell approved: {label} (") and "[HIGH]" in task["hs_task_subject"]
    assert "\u202e" not in task["hs_task_subject"] and "\u0007" not in task["hs_task_subject"]
    assert note.startswith(f"<p><b>AWS approved co-sell</b> on {html.escape(label)}")
    assert SCRIPT not in note and note.count(html.escape(SCRIPT)) == 2  # escaped even under autoescape false
    assert re.search(r"</p><p>Ref: evk_[0-9a-f]+</p>$", note)  # the key an uncertain send is looked up by
    assert task["hs_task_body"].startswith("<p>AWS approved ")  # task_body not overridden: the built-in one


BROKEN = [
    ({"review_rejected/note_body.html.j2": "<p>\n{% if %}\n</p>"}, "review_rejected/note_body.html.j2, line 2: "),
    ({"task_subject.txt.j2": "{{ emoji }}\n{{ oportunity }}"}, "task_subject.txt.j2, line 2: unknown field 'oportunity'"),
    ({"note_body.html.j2": "<p>{{ label }}</p>\n\n{{ facts.review_comments }}"},
     "note_body.html.j2, line 3: UndefinedError: 'dict object' has no attribute 'review_comments' (rendering the "
     "sample new_opportunity (invitation) notification)"),
    ({"task_body.html.j2": "{{ label|safe }}"}, "task_body.html.j2, line 1: No filter named 'safe'"),
    ({"review_aproved/task_subject.txt.j2": "x"}, "review_aproved is not a folder of templates for one event kind"),
    ({"note.html.j2": "x"}, "note.html.j2 is not a template name"),
]


@pytest.mark.parametrize(("files", "message"), BROKEN)
def test_a_broken_template_fails_config_check_naming_file_and_line(clean_env, monkeypatch, write_templates, files,
                                                                   message):
    monkeypatch.setenv("POLLER_TEMPLATE_DIR", str(write_templates(files)))

    result = invoke("config", "check", "--offline", "--skip-hubspot")

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: template") and message in result.stderr, result.stderr
    assert str(clean_env / "templates") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_broken_template_stops_a_run_before_anything_is_read(clean_env, monkeypatch, pc_sim, write_templates):
    monkeypatch.setenv("AWS_ENDPOINT_URL_PARTNERCENTRAL_SELLING", pc_sim.url)
    monkeypatch.setenv("POLLER_TEMPLATE_DIR", str(write_templates({"note_body.html.j2": "{{ nope }}"})))

    result = invoke("run", "--dry-run")

    assert result.exit_code == 2 and "note_body.html.j2, line 1: unknown field 'nope'" in result.stderr
    assert sum(pc_sim.operation_counts().values()) == 0


def test_config_check_accepts_good_templates_and_names_them(clean_env, monkeypatch, write_templates):
    monkeypatch.setenv("POLLER_TEMPLATE_DIR", str(write_templates({
        "review_approved/task_subject.txt.j2": "{{ headline }}", "_footer.j2": "<p>{{ link_url }}</p>",
        "note_body.html.j2": "{{ context }}{% include '_footer.j2' %}", "README.md": "how we word things"})))

    result = invoke("config", "check", "--offline", "--skip-hubspot", "--json")

    assert result.exit_code == 0, result.output
    [settings] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "settings"]
    assert settings["ok"] and settings["detail"].endswith(f"; templates: 3 in {clean_env / 'templates'})")


def test_preview_prints_a_kind_and_writes_a_page_like_hubspot(clean_env, monkeypatch, write_templates):
    monkeypatch.setenv("POLLER_TEMPLATE_DIR", str(write_templates({
        "review_action_required/task_subject.txt.j2": "{{ emoji }} AWS wants more: {{ label }}"})))
    page = clean_env / "preview.html"

    result = invoke("preview", "review_action_required", "--owner", "190", "--html", str(page))

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "for owner 190" in out and "⚠️ AWS wants more: Data lake migration (Acme Corp)" in out
    assert "Task body (HTML):\n<p>AWS reviewed Data lake migration (Acme Corp) and asked for changes.</p>" in out
    assert "Timeline note (HTML):\n<h3>⚠️ AWS needs more information: Data lake migration (Acme Corp)</h3>" in out
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in text and "<script" not in text
    assert "<span>⚠️ AWS wants more: Data lake migration (Acme Corp)</span>" in text and "owner 190" in text
    assert "<h3>⚠️ AWS needs more information: Data lake migration (Acme Corp)</h3>" in text  # the note, as HTML
    assert "Please add the customer&#x27;s AWS account id." in text


def test_preview_of_an_invitation_shows_a_task_and_no_note(clean_env):
    result = invoke("preview", "new_opportunity")

    assert result.exit_code == 0, result.output
    assert "== new_opportunity (invitation)" in result.stdout and "== new_opportunity:" in result.stdout
    assert "Timeline note (HTML):\n(none: no deal)" in result.stdout


def test_preview_of_an_unknown_kind_lists_the_kinds(clean_env):
    result = invoke("preview", "review_aproved")

    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: unknown kind 'review_aproved'; kinds: {', '.join(KINDS)}"
