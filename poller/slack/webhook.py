"""One POST to a Slack incoming webhook (stdlib urllib), its answer sorted into what the outbox protocol acts on.

    200 "ok"                              posted
    429 (Retry-After)                     not posted: wait and send it again          → SlackBusy
    400 invalid_payload, invalid_blocks…  this message is refused: resending won't help → SlackRefused(message)
    403/404/410, 3xx (no_service,         the webhook itself is gone or moved:           → SlackRefused(webhook)
      channel_is_archived, action_prohibited…)
    5xx, a timeout or a dropped connection after the request went out: maybe posted → UnknownOutcome
    no connection (refused, DNS, TLS, a timeout while connecting): not posted         → RetriableError

The URL is the webhook's secret: no message here quotes it, and it is registered with the redactor besides.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from poller.errors import RetriableError, UnknownOutcome

ANSWER_MAX = 200  # characters of Slack's answer kept for an error message (it is a short code: invalid_blocks)


class SlackBusy(Exception):
    """429: Slack posted nothing; it asks for `retry_after` seconds (waited out by the sink, not by tenacity)."""

    def __init__(self, retry_after: float, answer: str):
        super().__init__(f"Slack rate limit (429 {answer}): retry after {retry_after:g} s")
        self.retry_after = retry_after


class SlackRefused(Exception):
    """Slack refused and posted nothing. `webhook`: the webhook itself is unusable (every message would be refused),
    else only this message is."""

    def __init__(self, status: int, answer: str, *, webhook: bool):
        what = "the webhook" if webhook else "the message"
        super().__init__(f"Slack refused {what}: {status} {answer}")
        self.status = status
        self.webhook = webhook


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answers, it does not redirect: a redirect would resend the secret URL's body elsewhere (and urllib
    turns a redirected POST into a GET, dropping the message). It surfaces as the 3xx it is."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: dict[str, Any], *, timeout: float) -> None:
    """POST the message; return when Slack posted it, else raise as the module docstring says."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read()
            return
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, _answer(exc)
        retry_after = exc.headers.get("Retry-After") if exc.headers else None
    except urllib.error.URLError as exc:
        # Raised while connecting or writing the request (urllib wraps those): Slack never had a whole request.
        raise RetriableError(f"Slack unreachable: {_reason(exc.reason)}") from None
    except (http.client.HTTPException, OSError) as exc:  # timeouts, resets, TLS errors: all OSError
        # While waiting for the answer: the request went out, so Slack may have posted it.
        raise UnknownOutcome(f"no answer from Slack ({_reason(exc)})") from None
    if status == 429:
        raise SlackBusy(_seconds(retry_after), answer)
    if status >= 500:
        raise UnknownOutcome(f"Slack answered {status} {answer}")
    raise SlackRefused(status, answer, webhook=status in (301, 302, 303, 307, 308, 401, 403, 404, 410))


def _answer(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read().decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException):
        text = ""
    return " ".join(text.split())[:ANSWER_MAX] or exc.reason or "no reason given"


def _reason(reason: object) -> str:
    return type(reason).__name__ if not str(reason) else f"{type(reason).__name__}: {reason}"


def _seconds(value: str | None) -> float:
    """Retry-After as seconds (Slack sends whole seconds); 1 s when absent or unreadable."""
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0
