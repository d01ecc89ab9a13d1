"""Block Kit as Slack documents it for messages, checked: the block and element types used, and their limits.

A payload Slack would refuse comes back as the reason (Slack answers 400 `invalid_blocks`); None when it is fine.
"""

from __future__ import annotations

from typing import Any

BLOCKS_MAX = 50
TEXT_MAX = 40_000  # the top-level text (Slack truncates longer)
LIMITS = {"header": 150, "section": 3000, "field": 2000, "button_text": 75, "url": 3000, "action_id": 255,
          "block_id": 255, "context_text": 3000}
FIELDS_MAX = 10
ACTIONS_MAX = 25
CONTEXT_MAX = 10


def problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "invalid_payload: not a JSON object"
    text, blocks = payload.get("text"), payload.get("blocks")
    if text is None and not blocks:
        return "no_text"
    if text is not None and (not isinstance(text, str) or len(text) > TEXT_MAX):
        return "invalid_payload: text"
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not 0 < len(blocks) <= BLOCKS_MAX:
        return "invalid_blocks: blocks must be a list of 1 to 50"
    for index, block in enumerate(blocks):
        found = _block(block)
        if found:
            return f"invalid_blocks: blocks[{index}]: {found}"
    return None


def _text_object(obj: Any, limit: int, *, plain: bool = False) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        return "must be a " + ("plain_text" if plain else "text") + " object"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return "text must be a non-empty string"
    if len(text) > limit:
        return f"text longer than {limit} characters ({len(text)})"
    return None


def _block(block: Any) -> str | None:
    if not isinstance(block, dict):
        return "not an object"
    kind = block.get("type")
    if "block_id" in block and (not isinstance(block["block_id"], str) or len(block["block_id"]) > LIMITS["block_id"]):
        return "block_id"
    if kind == "header":
        return _text_object(block.get("text"), LIMITS["header"], plain=True)
    if kind == "divider":
        return None
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return "a section needs text or fields"
        if "text" in block and (found := _text_object(block["text"], LIMITS["section"])):
            return f"text: {found}"
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or not 0 < len(fields) <= FIELDS_MAX:
                return "fields must be a list of 1 to 10"
            for i, field in enumerate(fields):
                if found := _text_object(field, LIMITS["field"]):
                    return f"fields[{i}]: {found}"
        return None
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= CONTEXT_MAX:
            return "context elements must be a list of 1 to 10"
        for i, element in enumerate(elements):
            if found := _text_object(element, LIMITS["context_text"]):
                return f"elements[{i}]: {found}"
        return None
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= ACTIONS_MAX:
            return "actions elements must be a list of 1 to 25"
        ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
        if len(ids) != len(set(ids)):
            return "action_id values must be unique in a message"
        for i, element in enumerate(elements):
            if found := _button(element):
                return f"elements[{i}]: {found}"
        return None
    return f"unsupported block type {kind!r}"


def _button(element: Any) -> str | None:
    if not isinstance(element, dict) or element.get("type") != "button":
        return "only buttons are expected here"
    if found := _text_object(element.get("text"), LIMITS["button_text"], plain=True):
        return f"text: {found}"
    url = element.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > LIMITS["url"]
                            or not url.startswith(("http://", "https://"))):
        return "url must be an http(s) URL of at most 3000 characters"
    action = element.get("action_id")
    if action is not None and (not isinstance(action, str) or len(action) > LIMITS["action_id"]):
        return "action_id"
    return None
