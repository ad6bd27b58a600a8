"""Reading typed numbers column-wise (FORMAT.md §2): `1.234,5` in `id`, `1,234.5` in `en`.

Nothing is guessed: a group separator is accepted only in its place (1-3 digits, then groups of
exactly 3), and a value that breaks the locale's form but would be a number in the other locale is
`ambiguous_number`, never silently re-read. All work is done with vectorised string kernels.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from forms_sync.definition.model import MAX_INTEGER, MAX_NUMBER
from forms_sync.reading import no_codes

_SEP = {"id": (".", ","), "en": (",", ".")}  # locale -> (group separator, decimal mark)
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


def _fast_pattern(locale: str, integer: bool) -> str:
    """The common shape, settled in one pass: no spaces, no `Rp`, no `+`, no zero fraction."""
    g, d = "\\" + _SEP[locale][0], "\\" + _SEP[locale][1]
    whole = rf"(?:\d{{1,3}}(?:{g}\d{{3}})+|\d+)"
    return rf"^-?{whole}$" if integer else rf"^-?{whole}(?:{d}\d+)?$"


_FAST = {(loc, integer): _fast_pattern(loc, integer) for loc in _SEP for integer in (True, False)}
_JOIN = "\x1f"  # joins a row's cells for one shape check (read_plain_columns): no plain cell holds it


def _arrow_chunks(values: pd.Series) -> pa.ChunkedArray:
    """The column as Arrow large_string chunks, as it is (zero-copy for pandas' str dtype)."""
    arr = pa.array(values.astype("str"), from_pandas=True)
    arr = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def _arrow_raw(values: pd.Series) -> pa.Array:
    """The column as one Arrow large_string array, as it is."""
    return _arrow_chunks(values).combine_chunks()


def _arrow_text(values: pd.Series | pa.Array) -> pa.Array:
    """The column as one Arrow string array: outer spaces and a leading `Rp` removed."""
    arr = values if isinstance(values, pa.Array) else _arrow_raw(values)
    arr = pc.utf8_trim_whitespace(arr)
    has_rp = pc.match_substring_regex(arr, "^[Rr][Pp]")
    if pc.any(has_rp).as_py():
        arr = pc.if_else(has_rp, pc.replace_substring_regex(arr, r"^[Rr][Pp]\.?\s*", ""), arr)
    return arr


def _full(arr: pa.Array, pattern: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)


def _unstorable(text: str, locale: str, integer: bool) -> str | None:
    """Why the number written in `text` cannot be stored as written on every database, or None:
    `too_large` beyond BIGINT (integers) or DECIMAL(65,30) (numbers), `precision` when float64
    would alter it or DECIMAL(65,30) would round it (more than 30 decimals). Every such text is
    longer than _MAX_SIGNIFICANT characters, so only those are asked."""
    group, mark = _SEP[locale]
    plain = text.replace(group, "").lstrip("+")
    if integer:
        return None if abs(int(plain.split(mark)[0])) < MAX_INTEGER else "too_large"
    plain = plain.replace(mark, ".")
    sign = "-" if plain.startswith("-") else ""
    whole, _, frac = plain.lstrip("-").partition(".")
    frac = frac.rstrip("0")
    if int(whole) >= MAX_NUMBER:  # on the digits: float(1e35) is just below 10**35
        return "too_large"
    if len(frac) > 30:
        return "precision"
    digits = (whole.lstrip("0") or "0") + ("." + frac if frac else "")
    return None if np.format_float_positional(float(plain), trim="-") == sign + digits else "precision"


def read_numbers(values: pd.Series, locale: str, integer: bool) -> tuple[pd.Series, pd.Series]:
    """Parse a column of non-missing texts. Returns (values, codes).

    values: Int64 (integer) or Float64 with NA where unreadable; codes: object, None where the value
    was read, else "type", "ambiguous_number" or "precision". Work is done by Arrow kernels over the
    whole column: one regex pass settles the common shape (`-1.234.567`, `1.234,5`, at most 15
    characters), and the full checks run only on the cells it did not settle. Each cell's result
    depends on that cell alone, so splitting the column this way reads every cell as the full checks
    would.
    """
    codes = no_codes(values.index)
    dtype = "Int64" if integer else "Float64"
    if values.empty:
        return pd.Series(pd.array([], dtype=dtype), index=values.index), codes
    raw = _arrow_raw(values)
    fast = _full(raw, _FAST[(locale, integer)])
    fast &= pc.binary_length(raw).to_numpy(zero_copy_only=False) <= _MAX_SIGNIFICANT
    if fast.all():
        parsed = _cast(raw, locale, integer)
        data = parsed.to_numpy(zero_copy_only=False)
        mask = np.zeros(len(data), dtype=bool)
    else:
        data = np.zeros(len(raw), dtype="int64" if integer else "float64")
        mask = np.ones(len(raw), dtype=bool)
        done = np.flatnonzero(fast)
        if len(done):
            data[done] = _cast(raw.take(pa.array(done)), locale, integer).to_numpy(zero_copy_only=False)
            mask[done] = False
        rest = np.flatnonzero(~fast)
        parsed, rest_codes = _read_full(raw.take(pa.array(rest)), locale, integer)
        read = ~pc.is_null(parsed).to_numpy(zero_copy_only=False)
        data[rest[read]] = pc.drop_null(parsed).to_numpy(zero_copy_only=False)
        mask[rest[read]] = False
        refused = np.flatnonzero(rest_codes != None)  # noqa: E711 (element-wise)
        if len(refused):
            codes.iloc[rest[refused]] = rest_codes[refused]
    return _typed(data, mask, values.index, integer), codes


def _typed(data: np.ndarray, mask: np.ndarray, index: pd.Index, integer: bool) -> pd.Series:
    """Int64 / Float64 values (NA where `mask`) on `index`. The array is placed as it is: a Series
    built from a plain array would be re-aligned on its own 0..n index."""
    array = pd.arrays.IntegerArray(data, mask) if integer else pd.arrays.FloatingArray(data, mask)
    return pd.Series(array, index=index, dtype="Int64" if integer else "Float64")


def read_plain_columns(columns: list[pd.Series], locale: str, integer: bool) -> list[pd.Series | None]:
    """For each column (of one frame), the typed column when every cell has the plain shape
    (`-1.234.567`, `1.234,5`; no missing cell, no spaces, at most 15 characters), else None. Such a
    column reads without a single code, exactly as read_numbers would read it, so a checker may skip
    its missing-value and length steps.

    The shape is checked in one pass over each row's cells joined by a character no plain cell
    holds: RE2's cost is mostly per string, so this is about half the cost of a pass per column.
    The cells of a row that fails (a missing or odd cell, or a cell holding the joining character)
    are then checked one by one."""
    if not columns or columns[0].empty:
        return [None] * len(columns)
    arrays = [_arrow_chunks(c) for c in columns]
    cell = _FAST[(locale, integer)]
    inner = cell[1:-1]  # without its anchors
    joined = pc.binary_join_element_wise(*arrays, pa.scalar(_JOIN, pa.large_string()))  # null if one is
    fast_rows = _full(joined, f"^{inner}(?:{_JOIN}{inner}){{{len(arrays) - 1}}}$")
    others = pa.array(np.flatnonzero(~fast_rows))
    out: list[pd.Series | None] = []
    for values, raw in zip(columns, arrays):
        if raw.null_count or (len(others) and not pc.all(pc.match_substring_regex(raw.take(others), cell)).as_py()) \
                or pc.max(pc.binary_length(raw)).as_py() > _MAX_SIGNIFICANT:
            out.append(None)
            continue
        data = _cast(raw, locale, integer).to_numpy(zero_copy_only=False)
        out.append(_typed(data, np.zeros(len(data), dtype=bool), values.index, integer))
    return out


def _cast(text: pa.Array, locale: str, integer: bool) -> pa.Array:
    """Cells of the fast shape to int64 / float64 (no nulls in, none out)."""
    group, mark = _SEP[locale]
    plain = pc.replace_substring(text, group, "")
    if not integer and mark != ".":
        plain = pc.replace_substring(plain, mark, ".")
    return pc.cast(plain, pa.int64() if integer else pa.float64())


def _read_full(raw: pa.Array, locale: str, integer: bool) -> tuple[pa.Array, np.ndarray]:
    """Every check, for the cells the fast pass did not settle: (values with nulls, codes)."""
    codes = np.full(len(raw), None, dtype=object)
    text = _arrow_text(raw)
    group, mark = _SEP[locale]
    other = "en" if locale == "id" else "id"
    int_re, num_re, zero_frac_re = _PATTERNS[locale]
    ok = _full(text, r"^[+-]?\d+$")
    rest = np.flatnonzero(~ok)
    if len(rest):
        t = text.take(pa.array(rest))
        if integer:
            good = _full(t, int_re) | (_full(t, zero_frac_re) & ~_full(t, _PATTERNS[other][1]))
        else:
            good = _full(t, num_re)
        ok[rest[good]] = True
        bad = rest[~good]
        if len(bad):
            amb = _full(text.take(pa.array(bad)), _PATTERNS[other][1])
            codes[bad] = np.where(amb, "ambiguous_number", "type")
    # A value that cannot be stored as written is refused rather than stored altered.
    long = ok & (pc.utf8_length(text).to_numpy(zero_copy_only=False) > _MAX_SIGNIFICANT)
    for i in np.flatnonzero(long):
        code = _unstorable(text[i].as_py(), locale, integer)
        if code is not None:
            ok[i] = False
            codes[i] = code
    plain = pc.replace_substring(text, group, "")
    if integer:
        plain = pc.replace_substring_regex(plain, "[,.]0+$", "")
    elif mark != ".":
        plain = pc.replace_substring(plain, mark, ".")
    plain = pc.if_else(pa.array(ok), plain, pa.scalar(None, plain.type))
    plain = pc.replace_substring_regex(plain, r"^\+", "")  # Arrow's cast refuses an explicit +
    return pc.cast(plain, pa.int64() if integer else pa.float64()), codes


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
    fractional = np.flatnonzero(~integral)
    if len(fractional):
        # Arrow writes the same shortest round-trip digits as NumPy, in C; where it chose an
        # exponent (1e-07, 1.2e+11) NumPy writes the value out positionally.
        arrow = pc.cast(pa.array(vals[fractional]), pa.string())
        text[fractional] = arrow.to_numpy(zero_copy_only=False)
        for i in fractional[~_full(arrow, r"^-?\d+\.\d+$")]:
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
