"""Period answers (FORMAT.md §2), period arithmetic, and case 14 row by row."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms_sync.reference.months import (
    MONTH_NAMES_EN, MONTH_NAMES_ID, MONTH_WORD_PATTERN, MONTHS, month_name, month_number,
)
from forms_sync.reference.periods import (
    PERIOD_TYPE_WORDS, PERIOD_TYPES, latest_ended_period, parse_period, parse_periods, period_bounds,
    period_example, period_label, period_of, period_type_of, periods_window, shift_period,
)

PER_YEAR = {"monthly": 12, "quarterly": 4, "semester": 2, "yearly": 1}


def canonical(period_type: str, year: int, index: int) -> str:
    return {"monthly": f"{year}-{index:02d}", "quarterly": f"{year}-Q{index}",
            "semester": f"{year}-S{index}", "yearly": f"{year}"}[period_type]


period_ids = st.sampled_from(PERIOD_TYPES).flatmap(
    lambda t: st.builds(lambda y, i: canonical(t, y, i), st.integers(1900, 2200), st.integers(1, PER_YEAR[t])))


# --- months -------------------------------------------------------------------------------------

@pytest.mark.parametrize("words, number", [
    ("Januari Jan January", 1), ("Februari Feb February Pebruari", 2), ("Maret Mar March", 3),
    ("April Apr", 4), ("Mei May", 5), ("Juni Jun June", 6), ("Juli Jul July", 7),
    ("Agustus Agu Agt Ags August Aug", 8), ("September Sep Sept", 9), ("Oktober Okt October Oct", 10),
    ("November Nov Nop Nopember", 11), ("Desember Des December Dec", 12),
])
def test_month_words(words, number):
    for word in words.split():
        assert month_number(word) == number
        assert month_number(word.upper()) == number
        assert month_number(word + ".") == number


def test_month_names_for_writing():
    assert len(MONTH_NAMES_ID) == len(MONTH_NAMES_EN) == 12
    assert month_name(12) == "Desember" and month_name(12, "en") == "December"
    assert month_number("Smarch") is None and month_number("") is None and month_number(None) is None
    assert all(word in MONTH_WORD_PATTERN.split("|") for word in MONTHS)


# --- FORMAT.md §2 and the brief's accepted forms ---------------------------------------------

@pytest.mark.parametrize("period_type, texts, expected", [
    ("monthly", ["2026-11", "November 2026", "Nov 2026", "11/2026", "11-2026", "2026/11", "NOVEMBER 2026",
                 "november  2026", " Nov. 2026 ", "Nopember 2026", "11 / 2026",
                 "Nov-2026", "Nov-26", "Nopember-26"], "2026-11"),  # Excel's mmm-yy and mmm-yyyy
    ("monthly", ["Jan-95", "Januari 1995"], "1995-01"),  # two-digit years as Excel reads them
    ("monthly", ["Des-29", "12/2029"], "2029-12"),
    ("monthly", ["Desember 2026", "December 2026", "Des 2026", "Dec 2026", "12/2026"], "2026-12"),
    ("monthly", ["Mei 2026", "May 2026", "5/2026", "2026-05"], "2026-05"),
    ("quarterly", ["2026-Q4", "Triwulan IV 2026", "Triwulan 4 2026", "TW 4 2026", "TW IV 2026", "Q4 2026",
                   "Kuartal 4 2026", "Quarter 4 2026", "triwulan iv  2026", "2026-q4", "Triwulan ke-4 2026"],
     "2026-Q4"),
    ("quarterly", ["Triwulan I 2026", "TW 1 2026", "Q1 2026"], "2026-Q1"),
    ("semester", ["2026-S2", "Semester 2 2026", "Semester II 2026", "S2 2026", "semester ii 2026"], "2026-S2"),
    ("semester", ["Semester I 2026", "S1 2026", "2026-S1"], "2026-S1"),
    ("yearly", ["2026", "Tahun 2026", " tahun  2026 "], "2026"),
])
def test_accepted_forms(period_type, texts, expected):
    for text in texts:
        assert parse_period(text, period_type) == expected, text


@pytest.mark.parametrize("period_type, text", [
    ("monthly", "Triwulan IV 2026"), ("monthly", "2026-13"), ("monthly", "13/2026"), ("monthly", "0/2026"),
    ("monthly", "2026"), ("monthly", "2026-Q4"), ("monthly", "Novembre 2026"), ("monthly", "November"),
    ("monthly", "November 1899"), ("monthly", "November 2201"), ("monthly", "11/26"),
    ("monthly", "Nov 26"), ("monthly", "Nov-126"), ("monthly", "Nov-6"),  # a day, not Excel's two-digit year
    ("quarterly", "Triwulan V 2026"), ("quarterly", "Q5 2026"), ("quarterly", "November 2026"),
    ("quarterly", "2026-S2"), ("quarterly", "2026"),
    ("semester", "Semester 3 2026"), ("semester", "Semester III 2026"), ("semester", "2026-Q2"),
    ("yearly", "2026-11"), ("yearly", "1899"), ("yearly", "20266"), ("yearly", ""), ("yearly", "Tahun"),
])
def test_refused_forms(period_type, text):
    assert parse_period(text, period_type) is None


def test_unknown_period_type_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_period("2026", "weekly")


# --- case 14 (cases/14-period-answers), row by row ------------------------------------------------

CASE_14 = ["November 2026", "Nov 2026", "11/2026", "2026-11", "2026-13", "Triwulan IV 2026", "Desember 2026"]
CASE_14_EXPECTED = ["2026-11", "2026-11", "2026-11", "2026-11", None, None, "2026-12"]


def test_case_14_row_by_row():
    values = pd.Series(CASE_14, index=range(1, 8), name="Periode")
    result = parse_periods(values, "monthly")
    assert result.dtype == object and result.name == "Periode"
    assert list(result.index) == list(range(1, 8))
    assert result.tolist() == CASE_14_EXPECTED


# case 11 (cases/11-region-answers) uses canonical ids 2026-01 .. 2026-12
def test_case_11_periods():
    ids = [f"2026-{m:02d}" for m in range(1, 13)]
    assert parse_periods(pd.Series(ids), "monthly").tolist() == ids


def test_parse_periods_keeps_missing_and_reads_spreadsheet_numbers():
    values = pd.Series(["2026", None, np.nan, pd.NA, 2026, 2026.0, 2026.5, True, "x", "2026"], dtype=object)
    assert parse_periods(values, "yearly").tolist() == ["2026", None, None, None, "2026", "2026", None, None, None, "2026"]
    assert parse_periods(pd.Series([], dtype=object), "monthly").tolist() == []
    assert parse_periods(pd.Series(["Nov 2026", None], dtype="str"), "monthly").tolist() == ["2026-11", None]


# --- labels, bounds, arithmetic --------------------------------------------------------------

def test_labels_and_examples():
    assert period_label("2026-11") == "November 2026" and period_label("2026-11", "en") == "November 2026"
    assert period_label("2026-12") == "Desember 2026" and period_label("2026-12", "en") == "December 2026"
    assert period_label("2026-Q4") == "Triwulan IV 2026" and period_label("2026-Q4", "en") == "Quarter 4 2026"
    assert period_label("2026-S2") == "Semester 2 2026" and period_label("2026-S2", "en") == "Semester 2 2026"
    assert period_label("2026") == "2026"
    assert period_example("monthly") == "November 2026"
    assert [period_example(t) for t in PERIOD_TYPES] == ["November 2026", "Triwulan IV 2026", "Semester 2 2026", "2026"]
    assert set(PERIOD_TYPE_WORDS) == set(PERIOD_TYPES)
    assert PERIOD_TYPE_WORDS["monthly"] == ("bulanan", "monthly")


def test_bounds():
    assert period_bounds("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert period_bounds("2028-02") == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert period_bounds("2026-Q4") == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert period_bounds("2026-S1") == (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert period_bounds("2026") == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    with pytest.raises(ValueError):
        period_bounds("November 2026")


def test_arithmetic_examples():
    assert shift_period("2026-11", 2) == "2027-01"
    assert shift_period("2026-Q1", -1) == "2025-Q4"
    assert shift_period("2026-S2", 3) == "2028-S1"
    assert shift_period("2026", -26) == "2000"
    assert period_of(dt.date(2026, 12, 3), "quarterly") == "2026-Q4"
    assert period_of(dt.datetime(2026, 7, 1, 8), "semester") == "2026-S2"
    assert latest_ended_period("monthly", dt.date(2026, 12, 1)) == "2026-11"
    assert latest_ended_period("monthly", dt.date(2026, 11, 30)) == "2026-10"
    assert latest_ended_period("yearly", dt.date(2027, 1, 1)) == "2026"
    assert periods_window("monthly", dt.date(2026, 12, 3), back=3) == ["2026-09", "2026-10", "2026-11", "2026-12"]
    assert periods_window("quarterly", dt.date(2026, 12, 3), back=1, forward=1) == ["2026-Q3", "2026-Q4", "2027-Q1"]
    assert period_type_of("2026-S2") == "semester"


# --- properties ---------------------------------------------------------------------------------

@settings(max_examples=300)
@given(st.text(max_size=30), st.sampled_from(PERIOD_TYPES))
def test_parse_never_crashes(text, period_type):
    result = parse_period(text, period_type)
    assert result is None or parse_period(result, period_type) == result


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["Triwulan", "TW", "Q", "S", "Semester", "Tahun", "IV", "II", "4", "13",
                                 "2026", "1899", "Nov", "Mei", "-", "/", " ", "."]), max_size=5).map("".join),
       st.sampled_from(PERIOD_TYPES))
def test_parse_never_crashes_on_near_misses(text, period_type):
    parse_period(text, period_type)


@settings(max_examples=200)
@given(period_ids, st.sampled_from(["id", "en"]), st.sampled_from([str.upper, str.lower, lambda s: f"  {s} "]))
def test_ids_and_labels_read_back(period_id, locale, respell):
    period_type = period_type_of(period_id)
    assert parse_period(period_id, period_type) == period_id
    assert parse_period(period_label(period_id, locale), period_type) == period_id
    assert parse_period(respell(period_label(period_id, locale)), period_type) == period_id
    for other in PERIOD_TYPES:  # never read as a period of another type
        if other != period_type:
            assert parse_period(period_id, other) is None
            assert parse_period(period_label(period_id, locale), other) is None


@settings(max_examples=200)
@given(period_ids, st.integers(-500, 500))
def test_shift_bounds_and_period_of_agree(period_id, n):
    period_type = period_type_of(period_id)
    assert shift_period(shift_period(period_id, n), -n) == period_id
    first, last = period_bounds(period_id)
    assert period_of(first, period_type) == period_of(last, period_type) == period_id
    assert period_bounds(shift_period(period_id, 1))[0] == last + dt.timedelta(days=1)


@settings(max_examples=200)
@given(st.dates(dt.date(1901, 1, 1), dt.date(2199, 12, 31)), st.sampled_from(PERIOD_TYPES),
       st.integers(0, 30), st.integers(0, 3))
def test_latest_ended_and_window(today, period_type, back, forward):
    latest = latest_ended_period(period_type, today)
    assert period_bounds(latest)[1] < today <= period_bounds(shift_period(latest, 1))[1]
    window = periods_window(period_type, today, back, forward)
    assert len(window) == back + 1 + forward
    assert window[back] == period_of(today, period_type)
    assert window == sorted(window, key=lambda p: period_bounds(p)[0])
