"""Timestamps from Partner Central become the right UTC instant, whatever form the wire uses."""

from __future__ import annotations

import datetime as dt

import botocore.utils
import pytest

from poller.core.timefmt import parse_iso
from poller.partner_central import parse_timestamp


def utc(hour: int, minute: int, second: int, micro: int = 0) -> dt.datetime:
    return dt.datetime(2024, 11, 14, hour, minute, second, micro, tzinfo=dt.UTC)


# (what the wire sent, the UTC instant it means)
TEXT = [
    ("2024-11-14T21:33:18Z", utc(21, 33, 18)),
    ("2024-11-14T21:33:18.505Z", utc(21, 33, 18, 505000)),
    ("2024-11-14T21:33:18.457306587Z", utc(21, 33, 18, 457306)),  # nanoseconds, as invitations carry them
    ("2024-11-14T21:33:18+00:00", utc(21, 33, 18)),
    ("2024-11-14T21:33:18.5+00:00", utc(21, 33, 18, 500000)),
    ("2024-11-14T21:33:18+05:00", utc(16, 33, 18)),
    ("2024-11-14T21:33:18.5+05:00", utc(16, 33, 18, 500000)),
    ("2024-11-14T21:33:18.123-08:00", dt.datetime(2024, 11, 15, 5, 33, 18, 123000, tzinfo=dt.UTC)),
    ("2024-11-14T21:33:18.457306587-08:00", dt.datetime(2024, 11, 15, 5, 33, 18, 457306, tzinfo=dt.UTC)),
    ("2024-11-14T21:33:18-08:00", dt.datetime(2024, 11, 15, 5, 33, 18, tzinfo=dt.UTC)),
]
EPOCH = [
    (1731619998, utc(21, 33, 18)),
    (1731619998.5, utc(21, 33, 18, 500000)),
    ("1731619998", utc(21, 33, 18)),  # a numeric string: botocore reads it as epoch seconds
]


@pytest.mark.parametrize(("wire", "expected"), TEXT + EPOCH, ids=[str(w) for w, _ in TEXT + EPOCH])
def test_the_parser_wired_into_botocore_gives_the_utc_instant(wire, expected):
    parsed = parse_timestamp(wire)
    assert parsed == expected and parsed.utcoffset() == dt.timedelta(0)
    assert parsed == botocore.utils.parse_timestamp(wire)  # the same instant botocore's own parser finds


@pytest.mark.parametrize(("wire", "expected"), TEXT, ids=[w for w, _ in TEXT])
def test_parse_iso_reads_offsets_after_a_fraction(wire, expected):
    assert parse_iso(wire) == expected


@pytest.mark.parametrize("wire", ["", "not a date", "2024-13-14T21:33:18Z"])
def test_what_nobody_can_parse_is_a_value_error(wire):
    with pytest.raises(ValueError):
        parse_timestamp(wire)
