"""Reading typed numbers column-wise (FORMAT.md §2): `1.234,5` in `id`, `1,234.5` in `en`.

Nothing is guessed: a group separator is accepted only in its place (1-3 digits, then groups of
exactly 3), and a value that breaks the locale's form but would be a number in the other locale is
`ambiguous_number`, never silently re-read. All work is done with vectorised string kernels.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forms_sync.reading import no_codes

_SEP = {"id": (".", ","), "en": (",", ".")}  # locale -> (group separator, decimal mark)
_MAX_DIGITS = 18  # beyond this an integer no longer fits int64 exactly: refused as `type`
_MAX_SIGNIFICANT = 15  # beyond this a decimal no longer fits float64 exactly


def _patterns(locale: str) -> tuple[str, str, str]:
    g, d = (_SEP[locale][0], _SEP[locale][1])
    g, d = "\\" + g, "\\" + d
    whole = rf"(?:\d{{1,3}}(?:{g}\d{{3}})+|\d+)"
    integer = rf"^[+-]?{whole}$"
    number = rf"^[+-]?{whole}(?:{d}\d+)?$"
    zero_fraction = rf"^[+-]?{whole}{d}0+$"
    return integer, number, zero_fraction


_PATTERNS = {loc: _patterns(loc) for loc in _SEP}


def _prepare(values: pd.Series) -> pd.Series:
    """Drop `Rp` and the spaces around a value; keep NA as NA."""
    s = values.astype("str") if values.dtype == object else values
    return s.str.strip().str.replace(r"^(?i:rp)\.?\s*", "", regex=True)


def _to_float(text: pd.Series, locale: str) -> pd.Series:
    g, d = _SEP[locale]
    plain = text.str.replace(g, "", regex=False)
    if d != ".":
        plain = plain.str.replace(d, ".", regex=False)
    return pd.to_numeric(plain, errors="coerce").astype("float64")


def read_numbers(values: pd.Series, locale: str, integer: bool) -> tuple[pd.Series, pd.Series]:
    """Parse a column of non-missing texts. Returns (values, codes).

    values: Int64 (integer) or Float64 with NA where unreadable; codes: object, None where the value
    was read, else "type" or "ambiguous_number".
    """
    codes = no_codes(values.index)
    if values.empty:
        return pd.Series(pd.array([], dtype="Int64" if integer else "Float64"), index=values.index), codes
    text = _prepare(values)
    other = "en" if locale == "id" else "id"
    int_re, num_re, zero_frac_re = _PATTERNS[locale]
    digits = text.str.fullmatch(r"[+-]?\d+").fillna(False).astype(bool)
    rest = ~digits
    ok = digits.copy()
    if rest.any():
        t = text[rest]
        if integer:
            good = t.str.fullmatch(int_re) | (t.str.fullmatch(zero_frac_re)
                                              & ~t.str.fullmatch(_PATTERNS[other][1]))
        else:
            good = t.str.fullmatch(num_re)
        good = good.fillna(False).astype(bool)
        ok.loc[good.index[good]] = True
        bad = t[~good]
        if not bad.empty:
            amb = bad.str.fullmatch(_PATTERNS[other][1]).fillna(False).astype(bool)
            codes.loc[bad.index] = np.where(amb, "ambiguous_number", "type")
    parsed = pd.Series(np.nan, index=values.index, dtype="float64")
    if ok.any():
        parsed.loc[ok] = _to_float(text[ok], locale)
    if integer:
        too_big = ok & (text.str.count(r"\d") > _MAX_DIGITS).fillna(False).astype(bool)
        if too_big.any():
            codes.loc[too_big] = "type"
            parsed.loc[too_big] = np.nan
        whole = ok & ~too_big
        out = pd.Series(pd.array([pd.NA] * len(values), dtype="Int64"), index=values.index)
        if whole.any():
            plain = text[whole].str.replace(_SEP[locale][0], "", regex=False).str.replace(
                r"[,.]0+$", "", regex=True)
            out.loc[whole] = pd.to_numeric(plain, errors="coerce").astype("Int64")
        return out, codes
    # More than 15 significant digits cannot be held exactly: refuse rather than invent a figure.
    significant = text.str.replace(r"^[+-]?[0.,]*", "", regex=True).str.replace(r"[.,]", "", regex=True)
    imprecise = ok & (significant.str.rstrip("0").str.len() > _MAX_SIGNIFICANT).fillna(False).astype(bool)
    if imprecise.any():
        codes.loc[imprecise] = "type"
        parsed.loc[imprecise] = np.nan
    return parsed.astype("Float64"), codes


def canonical_numbers(values: pd.Series) -> pd.Series:
    """Canonical text for numbers: `.` decimal point, no grouping, no trailing zeros (1500000.5)."""
    out = pd.Series(pd.NA, index=values.index, dtype=object)
    v = values.astype("float64")
    present = v.notna()
    if not present.any():
        return out
    vals = v[present].to_numpy()
    integral = np.isfinite(vals) & (np.floor(vals) == vals) & (np.abs(vals) < 2**53)
    text = np.empty(len(vals), dtype=object)
    text[integral] = vals[integral].astype("int64").astype(str)
    for i in np.flatnonzero(~integral):
        text[i] = np.format_float_positional(vals[i], trim="-")
    out[present] = text
    return out


def format_number(value: float, locale: str = "id", integer: bool = False) -> str:
    """Write a number the way its locale writes it (`1.234,5`): used for messages and round trips."""
    g, d = _SEP[locale]
    if integer or float(value).is_integer():
        body = f"{int(value):,}"
        return body.replace(",", g)
    text = np.format_float_positional(float(value), trim="-")
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    return sign + f"{int(whole):,}".replace(",", g) + d + frac
