"""`poller preview KIND`: a sample notification rendered with the templates in force, printed or as an HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from poller.app import rules_from
from poller.clock import utc_now
from poller.commands.common import say, settings_from, shown
from poller.core.model import KINDS
from poller.core.notes.render import render
from poller.errors import UsageError
from poller.templates import TemplateSet, samples
from poller.templates.page import preview_page


@click.command(name="preview")
@click.argument("kind")
@click.option("--owner", metavar="ID", help="The HubSpot owner (id or email) the sample is shown for.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False),
              help="Also write a self-contained page showing the task and note as HubSpot does.")
@click.pass_context
def preview_command(ctx: click.Context, kind: str, owner: str | None, html_file: str | None) -> None:
    """Render a sample notification of KIND (task subject, task body, note) with the templates in force.

    Reads and sends nothing: the sample event is made up (for new_opportunity,
    an invitation and a referral). Use it to review template_dir before
    deploying; a broken template fails here as at start-up (exit 2).

    Example:

    \b
        poller preview review_approved
        POLLER_TEMPLATE_DIR=./templates poller preview conflict_detected --html preview.html
    """
    if kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    settings = settings_from(ctx)
    rules = rules_from(settings)
    now = utc_now()
    rendered = [(sample.name, render(sample.event, sample.context, now, rules=rules))
                for sample in samples(rules, now, (kind,))]
    # Seam for per-owner preferences (issue 12, the digest branch): with --owner, that owner's effective preferences
    # decide here whether the sample is sent now, folded into a digest or muted, before anything is shown.
    source = rules.templates.describe() if isinstance(rules.templates, TemplateSet) else "the templates in force"
    say(f"Sample {kind} notification, rendered with {shown(source)}" + (f", for owner {shown(owner)}" if owner else ""))
    if kind in rules.muted_kinds:
        say(f"Note: {kind} is muted (muted_kinds): nobody receives it")
    for name, n in rendered:
        say(f"\n== {name}: {n.priority}, due {n.due_at[:16].replace('T', ' ')} UTC")
        say(f"Task subject:\n{shown(n.subject)}")
        say(f"Task body (HTML):\n{shown(n.task_body)}")
        say(f"Timeline note (HTML):\n{shown(n.note_body) if n.note_body is not None else '(none: no deal)'}")
    if html_file:
        try:
            Path(html_file).write_text(preview_page(kind, rendered, owner=owner, source=source), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--html: cannot write {html_file} ({exc.strerror})") from None
        say(f"\nWrote {html_file}: open it in a browser")
