"""Dates and response timestamps read by locale, never with day and month swapped."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms_sync.reading.dates import parse_date, read_dates, read_timestamps
from forms_sync.reference.months import MONTH_NAMES_EN, MONTH_NAMES_ID


@pytest.mark.parametrize("text,locale,want", [
    ("03/12/2026", "id", dt.date(2026, 12, 3)), ("3-12-2026", "id", dt.date(2026, 12, 3)),
    ("2026-12-03", "id", dt.date(2026, 12, 3)), ("3 Desember 2026", "id", dt.date(2026, 12, 3)),
    ("3 Des 2026", "id", dt.date(2026, 12, 3)), ("12/3/2026", "en", dt.date(2026, 12, 3)),
    ("2026-12-03", "en", dt.date(2026, 12, 3)), ("3 December 2026", "en", dt.date(2026, 12, 3)),
    ("December 3, 2026", "en", dt.date(2026, 12, 3)),
])
def test_dates_accepted(text, locale, want):
    assert parse_date(text, locale) == want


@pytest.mark.parametrize("text", ["31/02/2026", "2026-13-01", "kemarin", "3 Foo 2026", "03/12/26"])
def test_dates_refused(text):
    assert parse_date(text, "id") is None


def test_read_dates_column():
    values, codes = read_dates(pd.Series(["03/12/2026", "31/02/2026"], dtype="str"), "id")
    assert values.iloc[0] == pd.Timestamp("2026-12-03") and pd.isna(values.iloc[1])
    assert codes.tolist() == [None, "type"]


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)), st.sampled_from(["id", "en"]))
def test_date_round_trip(d, locale):
    names = MONTH_NAMES_ID if locale == "id" else MONTH_NAMES_EN
    assert parse_date(f"{d.day} {names[d.month - 1]} {d.year}", locale) == d
    assert parse_date(d.isoformat(), locale) == d
    numeric = f"{d.day:02d}/{d.month:02d}/{d.year}" if locale == "id" else f"{d.month}/{d.day}/{d.year}"
    assert parse_date(numeric, locale) == d


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["id", "en"]))
def test_date_never_crashes(text, locale):
    parse_date(text, locale)


def test_timestamps_day_first_and_utc():
    stamps, bad = read_timestamps(pd.Series(["03/12/2026 15:56:37", "13/12/2026 09:00:00", "2026-12-03T02:15:02Z"]),
                                  "id", "Asia/Jakarta")
    assert stamps.tolist()[0] == pd.Timestamp("2026-12-03 08:56:37", tz="UTC")
    assert stamps.tolist()[1] == pd.Timestamp("2026-12-13 02:00:00", tz="UTC")
    assert stamps.tolist()[2] == pd.Timestamp("2026-12-03 02:15:02", tz="UTC")
    assert not bad.any()


def test_timestamp_never_swapped():
    """13/12/2026 cannot be read month-first: in `en` it is unreadable, not 12 January."""
    _, bad = read_timestamps(pd.Series(["13/12/2026 09:00:00"]), "en", "Asia/Jakarta")
    assert bad.tolist() == [True]
