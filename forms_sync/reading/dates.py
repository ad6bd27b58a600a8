"""Reading dates and response timestamps by locale (FORMAT.md §2).

Day and month order comes from the locale, never from a guess: `03/12/2026` is 3 December in `id`
and 12 March in `en`. ISO dates are read in every locale. Date columns are parsed once per unique
value; timestamp columns (mostly unique) go through pandas' vectorised format parsing.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from forms_sync.reading import no_codes

from forms_sync.reference.months import month_number

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})$")
_WORDS = re.compile(r"^(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
_WORDS_EN = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")


def parse_date(text: str, locale: str) -> dt.date | None:
    """One date answer, or None when it is not a real date in this locale."""
    t = " ".join(str(text).split())
    try:
        if m := _ISO.match(t):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _NUMERIC.match(t):
            a, b, year = int(m[1]), int(m[2]), int(m[3])
            day, month = (a, b) if locale == "id" else (b, a)
            return dt.date(year, month, day)
        if m := _WORDS.match(t):
            month = month_number(m[2])
            return dt.date(int(m[3]), month, int(m[1])) if month else None
        if locale == "en" and (m := _WORDS_EN.match(t)):
            month = month_number(m[1])
            return dt.date(int(m[3]), month, int(m[2])) if month else None
    except ValueError:  # 31/02/2026 and friends
        return None
    return None


def read_dates(values: pd.Series, locale: str) -> tuple[pd.Series, pd.Series]:
    """Parse non-missing date texts. Returns (datetime64 values with NaT, codes None/"type")."""
    uniques = values.dropna().unique()
    lookup = {u: parse_date(u, locale) for u in uniques}
    parsed = values.map(lookup)
    codes = no_codes(values.index)
    codes[values.notna() & parsed.isna()] = "type"
    return pd.to_datetime(parsed, errors="coerce").astype("datetime64[s]"), codes


_TS_FORMATS = {
    "id": ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H.%M.%S", "%d/%m/%Y"],
    "en": ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y"],
}
_TS_ISO = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
           "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def read_timestamps(values: pd.Series, locale: str, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Parse a timestamp column written in `locale`, local to `timezone`, into UTC.

    Returns (UTC timestamps, mask of non-empty cells that could not be read). Values with an explicit
    offset or `Z` are taken as written.
    """
    text = values.astype("str").str.strip()
    present = text.notna() & (text != "")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    todo = present.copy()
    if todo.any():  # the usual shape, all at once; the formats below read whatever it leaves
        hit, stamps = _canonical_stamps(text, _TS_FORMATS[locale][0])
        if hit.any():
            out = pd.Series(np.where(hit, stamps, np.datetime64("NaT", "us")), index=values.index)
            todo = pd.Series(todo.to_numpy() & ~hit, index=values.index)
    for fmt in _TS_FORMATS[locale] + _TS_ISO:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        hit = parsed.notna()
        if hit.any():
            out.loc[hit.index[hit]] = parsed[hit].astype("datetime64[us]")
            todo.loc[hit.index[hit]] = False
    local = out.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    if todo.any():  # explicit offsets: "2026-12-03T02:15:02.123Z", "...+07:00"
        aware = pd.to_datetime(text[todo], format="ISO8601", errors="coerce", utc=True)
        hit = aware.notna()
        local.loc[hit.index[hit]] = aware[hit]
        todo.loc[hit.index[hit]] = False
    return local, todo


_CANONICAL_SHAPE = r"^\d{2}/\d{2}/(?:19[7-9]\d|2[01]\d\d) \d{2}:\d{2}:\d{2}$"
_PART = {"d": pc.day, "m": pc.month, "Y": pc.year, "H": pc.hour, "M": pc.minute, "S": pc.second}


def _canonical_stamps(text: pd.Series, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Stamps written exactly in `fmt`'s zero-padded shape (`03/12/2026 09:15:02`) and naming a
    real date and time, read by Arrow: (mask of those cells, naive datetime64[us] values).

    strptime rolls an impossible date or time forward (31/02 into March, second 60 into the next
    minute), so each part read back must equal the digits written; what is left goes to the full
    reader. What is taken here is exactly what pandas reads with the same format."""
    arr = pa.array(text, type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    shaped = pc.fill_null(pc.match_substring_regex(arr, _CANONICAL_SHAPE), False)
    arr = pc.if_else(shaped, arr, pa.scalar(None, pa.string()))  # digits where the parts stand
    stamps = pc.strptime(arr, format=fmt, unit="s", error_is_null=True)
    same = pc.is_valid(stamps)
    start = 0
    for part in fmt.split("%")[1:]:  # "d/", "m/", "Y ", "H:", "M:", "S": a directive, then a separator
        width = 4 if part[0] == "Y" else 2
        written = pc.cast(pc.utf8_slice_codeunits(arr, start, start + width), pa.int64())
        same = pc.and_kleene(same, pc.equal(_PART[part[0]](stamps), written))
        start += width + len(part) - 1
    same = pc.fill_null(same, False).to_numpy(zero_copy_only=False)
    seconds = stamps.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    return same, (seconds * 1_000_000).astype("datetime64[us]")
