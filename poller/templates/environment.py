"""The Jinja2 sandboxes templates run in: bodies escape every value that is not our own markup, subjects stay plain."""

from __future__ import annotations

import html
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

DEFAULTS = Path(__file__).parent / "defaults"
# part → its template's file name; the extension says how it is rendered (.html: escaped, .txt: plain)
FILES = {"task_subject": "task_subject.txt.j2", "task_body": "task_body.html.j2", "note_body": "note_body.html.j2"}
HTML_PARTS = frozenset({"task_body", "note_body"})


def _escaped(value: object) -> object:
    """Every value a body prints is escaped exactly as before templates existed (html.escape, quotes too), unless it is
    markup already: our own pieces (the link), or what Jinja escaped itself. It runs even inside
    `{% autoescape false %}`, so no template can print Partner Central text unescaped."""
    if value is None:
        return ""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))


def _plain(value: object) -> object:
    return "" if value is None else value


def environment(folders: list[Path], *, escaped: bool) -> ImmutableSandboxedEnvironment:
    """A sandbox that loads templates from `folders`, first match wins (the custom folder, then the defaults).

    Immutable: a template cannot change the lists and mappings it is given. StrictUndefined: an unknown field is an
    error, never an empty string. The `safe` filter is gone: a template cannot turn text into markup.
    """
    env = ImmutableSandboxedEnvironment(loader=FileSystemLoader([str(f) for f in folders], encoding="utf-8"),
                                        autoescape=escaped, undefined=StrictUndefined,
                                        finalize=_escaped if escaped else _plain, auto_reload=False)
    del env.filters["safe"]
    return env
