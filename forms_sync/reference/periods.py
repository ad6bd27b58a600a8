"""Reporting periods: reading what people type, canonical ids, and period arithmetic.

Canonical ids (FORMAT.md §1): monthly "2026-11", quarterly "2026-Q4", semester "2026-S2",
yearly "2026". A period is handled internally as (year, index) with index 1..periods-per-year,
so every type shares the same arithmetic.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from .months import month_name, month_number

PERIOD_TYPES = ("monthly", "quarterly", "semester", "yearly")

PERIOD_TYPE_WORDS = {
    "monthly": ("bulanan", "monthly"),
    "quarterly": ("triwulanan", "quarterly"),
    "semester": ("semesteran", "half-yearly"),
    "yearly": ("tahunan", "yearly"),
}

MIN_YEAR, MAX_YEAR = 1900, 2200

_PER_YEAR = {"monthly": 12, "quarterly": 4, "semester": 2, "yearly": 1}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_ROMAN_NUMERALS = ["I", "II", "III", "IV"]
_EXAMPLE_IDS = {"monthly": "2026-11", "quarterly": "2026-Q4", "semester": "2026-S2", "yearly": "2026"}

_ID_PATTERNS = {
    "monthly": re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])"),
    "quarterly": re.compile(r"([0-9]{4})-Q([1-4])"),
    "semester": re.compile(r"([0-9]{4})-S([12])"),
    "yearly": re.compile(r"([0-9]{4})"),
}

_YEAR = r"([0-9]{4})"
_SEP = r"[ /-]?"
_MONTHLY_FORMS = (
    (re.compile(_YEAR + r"[-/]([0-9]{1,2})"), lambda m: (m[1], int(m[2]))),       # 2026-11, 2026/11
    (re.compile(r"([0-9]{1,2})[-/]" + _YEAR), lambda m: (m[2], int(m[1]))),       # 11/2026, 11-2026
    (re.compile(r"([a-z]+)\.?,?[ -]?" + _YEAR), lambda m: (m[2], month_number(m[1]))),  # Nov 2026, Nov-2026
    (re.compile(r"([a-z]+)-([0-9]{2})"), lambda m: (_excel_year(m[2]), month_number(m[1]))),  # Nov-26 (Excel's mmm-yy)
)


def _excel_year(yy: str) -> int:
    """A two-digit year as Excel reads it: 00-29 are 2000-2029, 30-99 are 1930-1999."""
    return (2000 if int(yy) < 30 else 1900) + int(yy)


_QUARTERLY_FORMS = (
    (re.compile(_YEAR + r"-?q([1-4])"), lambda m: (m[1], int(m[2]))),             # 2026-Q4
    (re.compile(r"(?:triwulan|tw|kuartal|quartal|quarter|q) ?(?:ke[- ]?)?(iv|i{1,3}|[1-4])" + _SEP + _YEAR),
     lambda m: (m[2], _number(m[1]))),                                           # Triwulan IV 2026
)
_SEMESTER_FORMS = (
    (re.compile(_YEAR + r"-?s([12])"), lambda m: (m[1], int(m[2]))),              # 2026-S2
    (re.compile(r"(?:semester|smt|s) ?(?:ke[- ]?)?(ii|i|[12])" + _SEP + _YEAR),
     lambda m: (m[2], _number(m[1]))),                                           # Semester II 2026
)
_YEARLY_FORMS = (
    (re.compile(r"(?:tahun ?)?" + _YEAR), lambda m: (m[1], 1)),                   # 2026, Tahun 2026
)
_FORMS = {
    "monthly": _MONTHLY_FORMS, "quarterly": _QUARTERLY_FORMS,
    "semester": _SEMESTER_FORMS, "yearly": _YEARLY_FORMS,
}


def _number(token: str) -> int:
    return _ROMAN[token] if token in _ROMAN else int(token)


def _check_type(period_type: str) -> None:
    if period_type not in _PER_YEAR:
        raise ValueError(f"unknown period type {period_type!r}; expected one of {', '.join(PERIOD_TYPES)}")


def _normalise(text: str) -> str:
    """Lower case, one space between words, none around '-' and '/'."""
    text = " ".join(text.split()).lower()
    return re.sub(r" ?([-/]) ?", r"\1", text)


def _format_id(period_type: str, year: int, index: int) -> str:
    if not 1 <= year <= 9999:
        raise ValueError(f"year {year} is out of range")
    if period_type == "monthly":
        return f"{year:04d}-{index:02d}"
    if period_type == "quarterly":
        return f"{year:04d}-Q{index}"
    if period_type == "semester":
        return f"{year:04d}-S{index}"
    return f"{year:04d}"


def _split_id(period_id: str) -> tuple[str, int, int]:
    """(period_type, year, index) of a canonical id; ValueError for anything else."""
    if isinstance(period_id, str):
        for period_type, pattern in _ID_PATTERNS.items():
            m = pattern.fullmatch(period_id)
            if m:
                index = int(m[2]) if m.lastindex == 2 else 1
                return period_type, int(m[1]), index
    raise ValueError(f"not a canonical period id: {period_id!r}")


def period_type_of(period_id: str) -> str:
    """The period type a canonical id belongs to ("2026-Q4" -> "quarterly")."""
    return _split_id(period_id)[0]


def parse_period(text: str, period_type: str) -> str | None:
    """Canonical id for a typed period of the form's type, or None (period_invalid).

    A period of another type ("Triwulan IV 2026" on a monthly form) is refused, never converted.
    """
    _check_type(period_type)
    if not isinstance(text, str):
        return None
    text = _normalise(text)
    for pattern, read in _FORMS[period_type]:
        m = pattern.fullmatch(text)
        if m:
            year, index = read(m)
            year = int(year)
            if index is None or not 1 <= index <= _PER_YEAR[period_type]:
                return None
            if not MIN_YEAR <= year <= MAX_YEAR:
                return None
            return _format_id(period_type, year, index)
    return None


def _as_text(value) -> str | None:
    """A cell as text: XLSX may hand a yearly period over as the number 2026 or 2026.0."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return None


def parse_periods(values: pd.Series, period_type: str) -> pd.Series:
    """parse_period over a column, computed once per distinct value (object dtype, None = invalid/missing)."""
    _check_type(period_type)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = np.empty(len(uniques) + 1, dtype=object)  # last slot: the answer for missing cells
    for i, value in enumerate(uniques):
        text = _as_text(value)
        parsed[i] = None if text is None else parse_period(text, period_type)
    parsed[-1] = None
    return pd.Series(parsed[codes], index=values.index, name=values.name, dtype=object)


def period_bounds(period_id: str) -> tuple[dt.date, dt.date]:
    """First and last day of the period."""
    period_type, year, index = _split_id(period_id)
    months = 12 // _PER_YEAR[period_type]
    first_month = (index - 1) * months + 1
    first = dt.date(year, first_month, 1)
    next_year, next_month = divmod(first_month - 1 + months, 12)
    last = dt.date(year + next_year, next_month + 1, 1) - dt.timedelta(days=1)
    return first, last


def period_label(period_id: str, locale: str = "id") -> str:
    """How the form shows a period ("Triwulan IV 2026"); parse_period reads it back to the same id."""
    period_type, year, index = _split_id(period_id)
    if period_type == "monthly":
        return f"{month_name(index, locale)} {year:04d}"
    if period_type == "quarterly":
        return f"Quarter {index} {year:04d}" if locale == "en" else f"Triwulan {_ROMAN_NUMERALS[index - 1]} {year:04d}"
    if period_type == "semester":
        return f"Semester {index} {year:04d}"
    return f"{year:04d}"


def period_of(date: dt.date, period_type: str) -> str:
    """Id of the period of this type that contains the date (a datetime counts by its date)."""
    _check_type(period_type)
    months = 12 // _PER_YEAR[period_type]
    return _format_id(period_type, date.year, (date.month - 1) // months + 1)


def shift_period(period_id: str, n: int) -> str:
    """Id of the period n periods later (n < 0: earlier)."""
    period_type, year, index = _split_id(period_id)
    per_year = _PER_YEAR[period_type]
    year, index0 = divmod(year * per_year + index - 1 + n, per_year)
    return _format_id(period_type, year, index0 + 1)


def latest_ended_period(period_type: str, today: dt.date) -> str:
    """The most recent period whose last day is before today: the one before today's period."""
    return shift_period(period_of(today, period_type), -1)


def periods_window(period_type: str, today: dt.date, back: int, forward: int = 0) -> list[str]:
    """Ids oldest first: `back` periods before today's, today's, and `forward` after (a dropdown's choices)."""
    if back < 0 or forward < 0:
        raise ValueError("back and forward must not be negative")
    current = period_of(today, period_type)
    return [shift_period(current, n) for n in range(-back, forward + 1)]


def period_example(period_type: str, locale: str = "id") -> str:
    """A short example of a period of this type for messages ("November 2026")."""
    _check_type(period_type)
    return period_label(_EXAMPLE_IDS[period_type], locale)
