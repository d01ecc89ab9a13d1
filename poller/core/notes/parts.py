"""The template seam: the parts of a notification, the Templates the core is given, and the Html marker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

# The parts of one notification, each rendered from its own template. A notification without a deal (an
# invitation) has no note: its task body is rendered with the note_body template, so the task carries the story.
PARTS = ("task_subject", "task_body", "note_body")


class Html(str):
    """Markup we wrote ourselves, every Partner Central value in it already escaped: a body template inserts it as
    it is (it has `__html__`, as Jinja's Markup does). Nothing from Partner Central is ever handed over as Html."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


class Templates(Protocol):
    """Compiled templates, given to the core as data (loading them is file I/O, done at the edge)."""

    def render(self, kind: str, part: str, fields: Mapping[str, object]) -> str:
        """One part's text from the fields: plain for the subject; HTML for a body, every plain-text field escaped."""
        ...
