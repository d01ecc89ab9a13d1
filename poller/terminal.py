"""Text for terminals and log lines: control and bidi characters are shown as escapes, never obeyed."""

from __future__ import annotations

import re

# C0 and C1 controls (newline too: it would forge a line), DEL, line/paragraph separators, lone surrogates, and
# the bidirectional overrides and isolates that reorder what a terminal shows (Trojan Source, CVE-2021-42574).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in NAMED:
        return NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """`text` as one line a terminal shows as it is: `\\x1b`, `\\n`, `\\u202e` instead of the characters."""
    return UNSAFE.sub(_escape, text if isinstance(text, str) else str(text))
