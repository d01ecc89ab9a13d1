"""How Slack shows mrkdwn: `<…>` sequences become links, mentions and dates, then `&lt;` `&gt;` `&amp;` are decoded.

What a reader sees is what tests assert: text from Partner Central must never turn into a link or an @channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SEQUENCE = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True, slots=True)
class Shown:
    text: str  # as the reader sees it
    links: list[str] = field(default_factory=list)  # URLs made clickable
    mentions: list[str] = field(default_factory=list)  # @user, #channel, @channel/@here/@everyone, user groups


def show(text: str) -> Shown:
    links: list[str] = []
    mentions: list[str] = []

    def sequence(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("!date^"):
            return label  # a date token: shown in the reader's zone; its fallback here
        if target.startswith(("@", "#", "!")):
            mentions.append(target)
            return label or target
        links.append(target)
        return label or target

    shown = SEQUENCE.sub(sequence, text)
    # Slack decodes exactly these three (its escaping rule), in this order so that &amp;lt; stays "&lt;".
    decoded = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return Shown(text=decoded, links=links, mentions=mentions)
