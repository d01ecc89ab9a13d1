"""One redactor for every string that leaves the process: a registered secret becomes *** in any form it takes."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 8  # a shorter "secret" (a test dummy such as "test") would mask ordinary words; real ones are 40+
MIN_PIECE = 8  # a piece of a multi-line secret, masked on its own when at least this long
_SEPARATORS = re.compile(r"[\x00-\x20\x7f]+")

_lock = threading.Lock()
_forms: tuple[str, ...] = ()


def forms_of(secret: str) -> set[str]:
    """How a secret can appear in text: as is, escaped by repr (str or bytes) or JSON, percent-encoded, and, for
    a value with a line break or control character, each long piece of it (an error may quote one line)."""
    found = {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
             json.dumps(secret)[1:-1], quote(secret), quote(secret, safe=""), quote_plus(secret, safe=""),
             secret.encode("unicode_escape").decode("ascii")}
    found |= {piece for piece in _SEPARATORS.split(secret) if len(piece) >= MIN_PIECE}
    # a form inside a JSON document (a JSON log line, `--json` output) is escaped once more
    found |= {json.dumps(form)[1:-1] for form in list(found)}
    return {form for form in found if len(form) >= MIN_LENGTH}


def register(secrets: Iterable[str | None]) -> None:
    """Remember secrets (the HubSpot token, AWS keys) so that `redact` masks them from now on."""
    global _forms
    new = set().union(*(forms_of(s) for s in secrets if s and len(s) >= MIN_LENGTH))
    with _lock:
        # longest first, so that a form containing another is masked whole
        _forms = tuple(sorted(set(_forms) | new, key=len, reverse=True))


def forget_all() -> None:
    """Drop every registered secret (a new configuration is loaded in the same process, e.g. in tests)."""
    global _forms
    with _lock:
        _forms = ()


def redact(text: str) -> str:
    """The text with every registered secret masked."""
    for form in _forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact_value(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value
