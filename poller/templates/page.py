"""The preview page: sample notifications laid out as HubSpot shows a task and a timeline note, in one HTML file."""

from __future__ import annotations

import html
from collections.abc import Sequence

from poller.core.model import Notification
from poller.core.notes.wording import when

PRIORITY_COLOURS = {"HIGH": "#f2545b", "MEDIUM": "#f5c26b", "LOW": "#00bda5"}
# Self-contained and inert: inline styles only, nothing fetched, no script runs (whatever a template wrote).
HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; background: #f5f8fa; color: #33475b; font: 14px/1.5 "Lexend Deca", "Helvetica Neue", Arial,
  sans-serif; }}
header {{ background: #2d3e50; color: #fff; padding: 12px 24px; }}
header h1 {{ font-size: 16px; margin: 0; font-weight: 600; }}
header p {{ margin: 2px 0 0; color: #cbd6e2; font-size: 12px; }}
main {{ display: grid; gap: 24px; padding: 24px; max-width: 1100px; }}
section {{ display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }}
section > h2 {{ grid-column: 1 / -1; font-size: 13px; text-transform: uppercase; letter-spacing: .05em;
  color: #516f90; margin: 0; }}
.card {{ background: #fff; border: 1px solid #cbd6e2; border-radius: 3px; }}
.card > .bar {{ border-bottom: 1px solid #dfe3eb; padding: 8px 16px; font-size: 12px; font-weight: 600;
  color: #516f90; text-transform: uppercase; }}
.task .subject {{ display: flex; gap: 10px; align-items: flex-start; padding: 16px 16px 8px; font-size: 16px;
  font-weight: 600; }}
.task .check {{ flex: none; width: 16px; height: 16px; border: 2px solid #7c98b6; border-radius: 50%;
  margin-top: 3px; }}
.task dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; padding: 0 16px 12px 42px;
  font-size: 12px; }}
.task dt {{ color: #7c98b6; }} .task dd {{ margin: 0; }}
.dot {{ display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; }}
.body {{ border-top: 1px solid #dfe3eb; padding: 12px 16px; overflow-wrap: anywhere; }}
.body h3 {{ font-size: 15px; margin: 0 0 8px; }} .body p {{ margin: 0 0 8px; }} .body ul {{ margin: 0 0 8px; }}
.body a {{ color: #0091ae; }}
.note {{ border-left: 4px solid #cbd6e2; }}
.note .who {{ padding: 12px 16px 0; font-size: 12px; color: #516f90; }} .note .who b {{ color: #33475b; }}
.none {{ padding: 16px; color: #7c98b6; font-style: italic; }}
</style></head><body>
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _task(n: Notification, owner: str | None) -> str:
    colour = PRIORITY_COLOURS.get(n.priority, "#cbd6e2")
    rows = (("Due date", _e(when(n.due_at) or n.due_at)),
            ("Priority", f'<span class="dot" style="background:{colour}"></span>{_e(n.priority.title())}'),
            ("Type", "To-do"), ("Assigned to", _e(f"owner {owner}" if owner else "the deal owner")),
            ("Associated with", _e(f"Deal {n.deal_id}" if n.deal_id else "no record (an invitation has no deal yet)")))
    meta = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    # The bodies are the HTML poller sends: every Partner Central value in them is escaped already.
    return (f'<div class="card task"><div class="bar">Task</div><div class="subject"><span class="check"></span>'
            f'<span>{_e(n.subject)}</span></div><dl>{meta}</dl><div class="body">{n.task_body}</div></div>')


def _note(n: Notification) -> str:
    if n.note_body is None:
        return ('<div class="card note"><div class="bar">Timeline note</div><p class="none">No note: an invitation '
                "has no deal to hang it on, so the task carries the whole story.</p></div>")
    return (f'<div class="card note"><div class="bar">Timeline note on deal {_e(n.deal_id)}</div><div class="who">'
            f'<b>Note</b> by poller · just now</div><div class="body">{n.note_body}</div></div>')


def preview_page(kind: str, rendered: Sequence[tuple[str, Notification]], *, owner: str | None, source: str) -> str:
    """One page: per sample, the task as the owner sees it in HubSpot and the note on the deal's timeline."""
    sections = "".join(f"<section><h2>{_e(name)}</h2>{_task(n, owner)}{_note(n)}</section>" for name, n in rendered)
    title = f"poller preview: {kind}"
    return (HEAD.format(title=_e(title)) + f"<header><h1>{_e(title)}</h1><p>Sample notification rendered with "
            f"{_e(source)}. HubSpot's own sanitiser may drop some markup.</p></header><main>{sections}</main>"
            "</body></html>\n")
