"""The Query protocol as SNS speaks it: form parameters decoded by botocore's own input shapes, XML answers."""

from __future__ import annotations

import functools
import uuid
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import ServiceModel, Shape

from poller.simulators.server import Response

NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"
VERSION = "2010-03-31"


@functools.cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sns")


class ServiceError(Exception):
    """An ErrorResponse: the code and status botocore's model gives the error shape (400 Sender by default)."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status

    def response(self) -> Response:
        kind = "Receiver" if self.status >= 500 else "Sender"
        body = (f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{kind}</Type><Code>{escape(self.code)}</Code>'
                f"<Message>{escape(self.message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
                "</ErrorResponse>")
        return Response(status=self.status, body=body.encode(), headers={"Content-Type": "text/xml"})


def form(body: bytes) -> dict[str, str]:
    """The request's form parameters (one value each, as botocore sends them)."""
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}


def decode(params: dict[str, str], of: Shape, prefix: str = "") -> Any:
    """Flattened Query parameters (`A.member.1.B`, `M.entry.1.Name`) as the nested value of input shape `of`;
    members absent from the request are left out, so validation sees what was really sent."""
    kind = of.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in of.members.items():
            wire_name = member.serialization.get("name", name)
            key = f"{prefix}.{wire_name}" if prefix else wire_name
            if key in params or any(p.startswith(key + ".") for p in params):
                out[name] = decode(params, member, key)
        return out
    if kind == "list":
        items, index = [], 1
        while f"{prefix}.member.{index}" in params or any(p.startswith(f"{prefix}.member.{index}.") for p in params):
            items.append(decode(params, of.member, f"{prefix}.member.{index}"))
            index += 1
        return items
    if kind == "map":
        entries, index = {}, 1
        key_name, value_name = of.key.serialization.get("name", "key"), of.value.serialization.get("name", "value")
        while f"{prefix}.entry.{index}.{key_name}" in params:
            entries[params[f"{prefix}.entry.{index}.{key_name}"]] = decode(
                params, of.value, f"{prefix}.entry.{index}.{value_name}")
            index += 1
        return entries
    value = params.get(prefix)
    if kind == "boolean":
        return value == "true"
    if kind in ("integer", "long"):
        return int(value) if value is not None and value.lstrip("-").isdigit() else value
    return value


def xml(value: Any) -> str:
    """A result value as Query XML: lists as <member> items, dicts as elements, None left out."""
    if isinstance(value, dict):
        return "".join(f"<{k}>{xml(v)}</{k}>" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "".join(f"<member>{xml(item)}</member>" for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def result(action: str, payload: dict[str, Any]) -> Response:
    body = (f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>{xml(payload)}</{action}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>")
    return Response(status=200, body=body.encode(), headers={"Content-Type": "text/xml"})
