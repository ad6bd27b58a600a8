"""Reading typed numbers (FORMAT.md §2): locale rules, ambiguity, canonical text, round trips."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms_sync.reading.numbers import canonical_numbers, format_number, read_numbers, read_plain_columns


def read(values, locale="id", integer=False):
    v, c = read_numbers(pd.Series(values, dtype="str"), locale, integer)
    return v.tolist(), c.tolist()


@pytest.mark.parametrize("text,value", [("1234", 1234), ("1.234", 1234), ("1.234.567", 1234567), ("-5", -5),
                                        (" 42 ", 42), ("1.234,00", 1234), ("007", 7)])
def test_integer_id_accepts(text, value):
    assert read([text], integer=True) == ([value], [None])


@pytest.mark.parametrize("text,code", [("12,5", "type"), ("1.5", "ambiguous_number"), ("1.23", "ambiguous_number"),
                                       ("1,234.5", "ambiguous_number"), ("1,000", "ambiguous_number"),
                                       ("satu", "type"), ("1.2345", "ambiguous_number"), ("12.34.567", "type"),
                                       ("99999999999999999999", "too_large"), ("9.223.372.036.854.775.808", "too_large"),
                                       ("-9223372036854775809", "too_large")])
def test_integer_id_refuses(text, code):
    values, codes = read([text], integer=True)
    assert codes == [code] and pd.isna(values[0])


@pytest.mark.parametrize("text,value", [("1234,5", 1234.5), ("1.234,5", 1234.5), ("0,75", 0.75),
                                        ("Rp 1.500.000", 1500000), ("Rp1.500.000,50", 1500000.5), ("81,0", 81)])
def test_number_id_accepts(text, value):
    assert read([text]) == ([value], [None])


@pytest.mark.parametrize("text,locale,code", [("1.5", "id", "ambiguous_number"), ("1,234.5", "id", "ambiguous_number"),
                                              ("1.234,5", "en", "ambiguous_number"), ("1,2,3", "id", "type"),
                                              ("12345678901234567,5", "id", "precision"),
                                              # beyond DECIMAL(65,30), which MariaDB/MySQL would refuse or round to 0
                                              ("1" + ".000" * 12, "id", "too_large"), ("-1" + "0" * 35, "en", "too_large"),
                                              ("0," + "0" * 31 + "15", "id", "precision"),
                                              ("0," + "0" * 29 + "15", "id", "precision")])  # 31 decimals
def test_number_refuses(text, locale, code):
    assert read([text], locale)[1] == [code]


def test_the_largest_and_smallest_numbers_every_database_stores_are_read():
    assert read(["9223372036854775807", "-9.223.372.036.854.775.807"], integer=True) == (
        [2**63 - 1, -(2**63 - 1)], [None, None])
    assert read(["99.999.999.999.999.900.000.000.000.000.000.000", "0," + "0" * 29 + "1"]) == ([9.99999999999999e34, 1e-30],
                                                                                          [None, None])


def test_en_locale():
    assert read(["1,234", "1234"], "en", integer=True) == ([1234, 1234], [None, None])
    assert read(["1234.5", "1,234.5"], "en") == ([1234.5, 1234.5], [None, None])


def test_canonical_numbers():
    s = pd.Series([1500000.5, 750000.0, 0.75, None, -3.0], dtype="Float64")
    assert canonical_numbers(s).tolist()[:3] == ["1500000.5", "750000", "0.75"]
    assert pd.isna(canonical_numbers(s).tolist()[3]) and canonical_numbers(s).tolist()[4] == "-3"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.sampled_from(["id", "en"]), st.booleans())
def test_never_crashes(text, locale, integer):
    values, codes = read_numbers(pd.Series([text], dtype="str"), locale, integer)
    assert len(values) == len(codes) == 1
    assert pd.isna(values.iloc[0]) or codes.iloc[0] is None


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-10**15, max_value=10**15), st.sampled_from(["id", "en"]))
def test_integer_round_trip(n, locale):
    assert read([format_number(n, locale, integer=True)], locale, integer=True) == ([n], [None])


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=-10**9, max_value=10**9, places=4, allow_nan=False, allow_infinity=False),
       st.sampled_from(["id", "en"]))
def test_number_round_trip(d, locale):
    value = float(d)
    text = format_number(value, locale)
    got, codes = read([text], locale)
    assert codes == [None] and got[0] == value
    assert canonical_numbers(pd.Series([value])).iloc[0] == canonical_numbers(pd.Series(got)).iloc[0]


def test_values_stay_in_place_on_a_non_default_index():
    """Cells keep their row when the column's index is not 0..n (a filtered column)."""
    s = pd.Series(["750000", "-", "1.234", "+5"], index=[10, 3, 7, 99], dtype="str").drop(3)
    values, codes = read_numbers(s, "id", integer=True)
    assert values.to_dict() == {10: 750000, 7: 1234, 99: 5} and codes.isna().all()


def test_large_amounts_kept_exactly_or_refused():
    """Rp 10 trillion with sen fits float64 exactly and is kept; more digits than that is refused."""
    values, codes = read(["Rp 10.340.827.241.639,76", "1.234.567.890.123.456,78"])
    assert values[0] == 10340827241639.76 and codes == [None, "precision"]
    assert canonical_numbers(pd.Series([values[0]])).iloc[0] == "10340827241639.76"


CELLS = ["1.234", "-1.234.567", "1234", "1.234,5", "12,5", "1.5", "12 ribu", " 7", "1\x1f2", "1.234\x1f5", "",
         "0", "1234567890123456", "1.234.567.890.123", "12.34", "-0,25", "\x1f", "1,5\x1f2", "+5"]
PLAIN = {("id", True): r"-?(\d{1,3}(\.\d{3})+|\d+)", ("id", False): r"-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?",
         ("en", True): r"-?(\d{1,3}(,\d{3})+|\d+)", ("en", False): r"-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?"}


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(st.one_of(st.sampled_from(CELLS), st.none()), min_size=3, max_size=3),
                     min_size=1, max_size=8),
       locale=st.sampled_from(["id", "en"]), integer=st.booleans())
def test_columns_read_together_are_typed_exactly_when_every_cell_is_plain(rows, locale, integer):
    """read_plain_columns checks a row's cells in one joined pass; a column must still come back
    typed exactly when each of its cells has the plain shape (present, at most 15 characters), with
    read_numbers's values, whatever the other columns hold (cells with the joining character too)."""
    index = pd.RangeIndex(10, 10 + len(rows))  # not 0..n: values stay on the frame's own index
    columns = [pd.Series([r[i] for r in rows], index=index, dtype="str") for i in range(3)]
    for column, got in zip(columns, read_plain_columns(columns, locale, integer)):
        plain = all(isinstance(c, str) and len(c) <= 15 and re.fullmatch(PLAIN[(locale, integer)], c) for c in column)
        assert (got is not None) == plain, column.tolist()
        if plain:
            values, codes = read_numbers(column, locale, integer)
            assert got.index.equals(index) and got.tolist() == values.tolist() and codes.isna().all()


@settings(max_examples=500, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_canonical_numbers_write_the_shortest_digits_positionally(values):
    """The canonical text of any float is NumPy's shortest positional form (never an exponent)."""
    expected = [str(int(v)) if v == int(v) and abs(v) < 2**53 else np.format_float_positional(v, trim="-")
                for v in values]
    assert canonical_numbers(pd.Series(values, dtype="Float64")).tolist() == expected
