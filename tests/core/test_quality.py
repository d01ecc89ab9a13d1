"""Deal-quality bands (pure): hysteresis around each edge, where a move lands, labels, and settle's derived state."""

from __future__ import annotations

import datetime as dt

import pytest

from poller.core.aws_values import Recommendation
from poller.core.model import AwsView, Snapshot
from poller.core.quality import band_label, next_band
from poller.core.rules import RuleConfig
from poller.core.settle import settle

RULES = RuleConfig()  # bands 40 / 70, hysteresis 5
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize(("band", "score", "expected"), [
    (None, 72, 2), (None, 39, 0), (None, None, None),  # a first score takes its own band; none keeps none
    (2, 66, 2), (2, 65, 1), (2, 36, 0),  # leaving 70+ takes 5 points below the edge; it lands in the score's band
    (1, 74, 1), (1, 75, 2), (1, 36, 1), (1, 35, 0),
    (0, 44, 0), (0, 45, 1), (0, 90, 2),
    (2, None, 2),  # unknown keeps the band
    (7, 50, 1),  # a band from a longer list of edges (reconfigured): the score's own band
])
def test_next_band_moves_only_past_the_margin(band, score, expected):
    assert next_band(band, score, RULES) == expected


def test_without_hysteresis_the_band_is_the_score_band():
    rules = RuleConfig(quality_hysteresis=0, quality_bands=(30, 60, 90))
    assert [next_band(3, s, rules) for s in (89, 90, 59, 60, 29)] == [2, 3, 1, 2, 0]


def test_band_labels():
    assert [band_label(b, (40, 70)) for b in (0, 1, 2, None, 3)] == ["0–39", "40–69", "70–100", None, None]


def test_bad_band_settings_are_refused():
    for bad in ({"quality_bands": (70, 40)}, {"quality_bands": ()}, {"quality_bands": (0, 50)},
                {"quality_hysteresis": 60}, {"action_required_every_hours": 0}):
        with pytest.raises(ValueError):
            RuleConfig(**bad)


def _snapshot(score: int | None, trend: str | None = None, *recs: str, status: str = "Approved") -> Snapshot:
    aws = AwsView(quality_score=score, quality_trend=trend, signals_known=True,
                  recommendations=tuple(Recommendation(type="SolutionRecommendation", details=d) for d in recs))
    return Snapshot(opportunity_id="O1", catalog="AWS", last_modified="2026-03-01T00:00:00.000000Z",
                    review_status=status, aws=aws)


def test_settle_carries_band_flag_and_seen_recommendations_and_is_idempotent():
    first = settle(None, _snapshot(72, "Declining", "a"), NOW, rules=RULES)
    assert first.aws is not None
    assert (first.aws.quality_band, first.aws.quality_decline_noted) == (2, True)
    assert first.review_since == "2026-03-02T09:00:00.000000Z"
    later = NOW + dt.timedelta(hours=1)
    second = settle(first, _snapshot(68, "No Change", "b"), later, rules=RULES)
    assert second.aws is not None
    assert second.aws.quality_band == 2 and second.aws.quality_decline_noted  # same band: the bell stays rung
    assert len(second.aws.seen_recommendations) == 2  # "a" is remembered although AWS dropped it
    assert second.review_since == first.review_since  # the same review status: its clock goes on
    assert settle(first, second, later, rules=RULES) == second
    resubmitted = settle(second, _snapshot(68, status="Submitted"), later, rules=RULES)
    assert resubmitted.review_since == "2026-03-02T10:00:00.000000Z"
