"""What a per-input HubSpot error means for its row: table-driven over the errors HubSpot documents."""

from __future__ import annotations

import pytest

from poller.hubspot.refusals import verdict_for


@pytest.mark.parametrize(("category", "message", "context", "verdict"), [
    ("VALIDATION_ERROR", '1234 is not a valid owner id', {"propertyName": ["hubspot_owner_id"]}, "reroute"),
    ("VALIDATION_ERROR", "Property values were not valid: INVALID_OWNER_ID", None, "reroute"),
    ("VALIDATION_ERROR", "NOT_STARTED_X was not one of the allowed options", {"propertyName": ["hs_task_status"]},
     "failed"),
    ("OBJECT_NOT_FOUND", "deal 50009 does not exist", {"objectWriteTraceId": ["evk_1"]}, "failed"),
    ("VALIDATION_ERROR", "Property hs_note_body exceeds the maximum length", None, "failed"),
    ("RATE_LIMITS", "You have reached your ten_secondly_rolling limit.", None, "retry"),
    ("INTERNAL_ERROR", "internal error", {"objectWriteTraceId": ["evk_hubspot_owner_id_lookalike"]}, "retry"),
    (None, None, None, "retry"),
])
def test_verdict_for_each_documented_error(category, message, context, verdict):
    assert verdict_for(category, message, context) == verdict
