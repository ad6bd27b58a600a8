"""The seam between sources and the rest: a batch of raw submissions as text.

A source (files, a Google Form, a response Sheet) only has to turn what it reads into a
`RawBatch`: one column per field (plus region and period) holding the answers as typed, with
`_row`, `_submitted_at` (UTC), `_submission_id` and `_source`. Reading, validation, resolution
and storage never know which source a batch came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from forms_sync.definition.model import FormDefinition, fold_header
from forms_sync.errors import Problem
from forms_sync.messages import render
from forms_sync.reading.dates import read_timestamps
from forms_sync.validation.check import shown

TIMESTAMP_HEADERS = {"timestamp", "stempel waktu", "cap waktu", "waktu", "tanggal pengisian", "submitted at"}
EMAIL_HEADERS = {"email address", "alamat email", "email", "alamat e-mail", "e-mail"}
META_COLUMNS = ["_row", "_submitted_at", "_submission_id", "_source", "_email"]


@dataclass
class RawBatch:
    source: str  # where it came from, e.g. "file:inbox/bandung.xlsx" or "google_form:<formId>"
    frame: pd.DataFrame  # region, period, field names (text or NA) + META_COLUMNS
    problems: list[Problem] = field(default_factory=list)  # file-level: warnings, or the error that failed it
    failed: bool = False  # True: a file-level error; no row of this batch may be accepted
    columns: dict[str, str] = field(default_factory=dict)  # field -> header it was read from (drift reports)
    drift: list[dict] = field(default_factory=list)  # columns/questions changed since the source's last read
    complete: bool = False  # True: every submission its source holds now; the source's others were deleted
    records: int = 0  # records read, blank ones included (where a later read of a grown file resumes)

    @property
    def rows(self) -> int:
        return len(self.frame)


def read_ahead(items: Iterable) -> Iterator:
    """The items of `items`, each next one produced by a worker thread while the caller works on
    the one before: reading a part (Arrow's parser and kernels release the GIL) overlaps checking
    or storing the previous one. The worker's exceptions arrive at the caller's `next`."""
    items = iter(items)
    end = object()
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(next, items, end)
        while (got := pending.result()) is not end:
            pending = pool.submit(next, items, end)
            yield got


def file_problem(code: str, *, field: str | None = None, level: str = "error", row=None, value=None,
                 key: str | None = None, **params) -> Problem:
    mid, men = render(key or code, **params)
    return Problem(row=row, field=field, value=value, code=code, message_id=mid, message_en=men, level=level)


def header_targets(definition: FormDefinition, mapping: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Folded header -> field name: labels, plus a source's own column names where it maps them."""
    targets = {fold_header(definition.region_label): "region", fold_header(definition.period_label): "period"}
    for f in definition.fields:
        targets[fold_header(f.label)] = f.name
        targets.setdefault(fold_header(f.name), f.name)
    for fname, cols in (mapping or {}).items():
        if len(cols) == 1:
            targets[fold_header(cols[0])] = fname
    return targets


def match_columns(definition: FormDefinition, headers: list[str], *, mapping: dict[str, list[str]] | None = None,
                  ignore: list[str] | None = None) -> tuple[dict[str, list[int]], dict[str, int | None], list[Problem], bool]:
    """Match headers to fields (FORMAT.md §2). Returns (field -> column positions, meta positions,
    problems, failed). A field mapped to several columns gets them joined with a space."""
    targets = header_targets(definition, mapping)
    multi = {fname: [fold_header(c) for c in cols] for fname, cols in (mapping or {}).items() if len(cols) > 1}
    ignored = {fold_header(c) for c in (ignore or [])}
    folded = [fold_header(h) for h in headers]
    fields: dict[str, list[int]] = {}
    meta: dict[str, int | None] = {"timestamp": None, "email": None}
    problems: list[Problem] = []
    failed = False
    multi_cols = {c for cols in multi.values() for c in cols}
    for i, (h, key) in enumerate(zip(headers, folded)):
        if key in multi_cols:
            continue
        if key in targets:
            fname = targets[key]
            if fname in fields:
                problems.append(file_problem("duplicate_column", column=str(h).strip(), field=fname))
                failed = True
            fields[fname] = [i]
        elif key in TIMESTAMP_HEADERS and meta["timestamp"] is None:
            meta["timestamp"] = i
        elif key in EMAIL_HEADERS and meta["email"] is None:
            meta["email"] = i
        elif key in ignored:
            continue
        else:
            name = str(h).strip() or f"(kolom {i + 1} tanpa judul)"
            problems.append(file_problem("unknown_column", level="warning", column=name))
    for fname, cols in multi.items():
        pos = [folded.index(c) for c in cols if c in folded]
        if len(pos) == len(cols):
            fields[fname] = pos
    for fname, label in [("region", definition.region_label), ("period", definition.period_label),
                         *[(f.name, f.label) for f in definition.fields if f.required]]:
        if fname not in fields:
            wanted = " + ".join(mapping[fname]) if mapping and fname in mapping else label
            problems.append(file_problem("missing_column", field=fname, label=wanted))
            failed = True
    return fields, meta, problems, failed


def build_batch(definition: FormDefinition, source: str, headers: list[str], cells: pd.DataFrame, *,
                locale: str, timezone: str, mapping=None, ignore=None, id_salt: str = "", first_row: int = 1,
                occurrences: "Occurrences | None" = None, ids: bool = True) -> RawBatch:
    """Turn a table of text cells (columns by position) into a RawBatch, with file-level checks.
    `ids=False`: no `_submission_id` column (hashing every row is a fifth of reading a file).

    A file read in parts passes each part's `first_row` and one `occurrences` for the whole file,
    so its rows get the row numbers and ids a read in one piece would give them."""
    fields, meta, problems, failed = match_columns(definition, headers, mapping=mapping, ignore=ignore)
    # Wholly empty rows (left behind by Excel, or a stray format far below the data) are no
    # submission; the rows kept keep their own row numbers.
    records = len(cells)
    row_numbers = np.arange(first_row, first_row + len(cells))
    if len(cells):
        blank = cells.isna().all(axis=1).to_numpy()
        if blank.any():
            cells = cells[~blank].reset_index(drop=True)
            row_numbers = row_numbers[~blank]
    n = len(cells)
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for fname, pos in fields.items():
        col = cells.iloc[:, pos[0]]
        for extra in pos[1:]:
            col = col.fillna("").str.cat(cells.iloc[:, extra].fillna(""), sep=" ").str.strip()
        frame[fname] = col.array if col.index.equals(frame.index) else col.to_numpy()
    frame["_row"] = row_numbers
    frame["_source"] = source
    frame["_email"] = cells.iloc[:, meta["email"]].to_numpy() if meta["email"] is not None else None
    ts_text = cells.iloc[:, meta["timestamp"]] if meta["timestamp"] is not None else None
    if ts_text is not None and n:
        stamps, unreadable = read_timestamps(ts_text, locale, timezone)
        frame["_submitted_at"] = stamps.array  # placed by position, kept tz-aware (no objects)
        if unreadable.any() and not failed:
            first = int(np.flatnonzero(unreadable.to_numpy())[0])
            example = {"id": "03/12/2026 09:15:02", "en": "12/3/2026 09:15:02"}[locale]
            order_id, order_en = {"id": ("hari/bulan/tahun", "day/month/year"),
                                  "en": ("bulan/hari/tahun", "month/day/year")}[locale]
            problems.append(file_problem("bad_timestamp", stamp=shown(ts_text.iloc[first]), at_row=int(row_numbers[first]),
                                         expected_id=f"{order_id} jam:menit:detik, mis. {example}",
                                         expected_en=f"{order_en} hour:minute:second, e.g. {example}"))
            failed = True
    else:
        frame["_submitted_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    if failed:
        problems = [p for p in problems if p.level == "error"] + [p for p in problems if p.level != "error"]
    if ids:
        frame["_submission_id"] = submission_ids(frame, [c for c in definition.columns if c in frame],
                                                 ts_text, id_salt, occurrences)
    return RawBatch(source=source, frame=frame, problems=problems, failed=failed, records=records,
                    columns={f: " + ".join(str(headers[i]) for i in pos) for f, pos in fields.items()})


class Occurrences:
    """How often each row id was met before in the same file, across the parts it is read in.

    `earlier(ids)` (optional) tells, for the ids given, how often each occurs in the part of the
    file an earlier sync read already (a grown file read from where it ended); ids it omits never
    did."""

    def __init__(self, earlier=None):
        self.counts: dict[str, int] = {}
        self.earlier = earlier

    def number(self, ids: list[str]) -> np.ndarray:
        """The occurrence number (0 for a first) of each id, counting these ids in as met."""
        series = pd.Series(ids, dtype=object)
        repeated = series.duplicated(keep=False).to_numpy()  # rare: only those are grouped
        within = np.zeros(len(ids), dtype=np.int64)
        if repeated.any():
            same = series[repeated]
            within[repeated] = same.groupby(same.to_numpy(), sort=False).cumcount().to_numpy()
        counts = self.counts
        if self.earlier is not None:
            for i, k in self.earlier([x for x in dict.fromkeys(ids) if x not in counts]).items():
                counts[i] = k
        before = np.fromiter(map(counts.get, ids, itertools.repeat(0)), dtype=np.int64, count=len(ids))
        out = before + within
        counts.update(zip(ids, (out + 1).tolist()))  # in order: an id's last (highest) number stays
        return out


def submission_ids(frame: pd.DataFrame, answer_columns: list[str], ts_text: pd.Series | None,
                   salt: str = "", occurrences: Occurrences | None = None) -> np.ndarray:
    """Stable ids from the content of each row: the same row read again gets the same id.

    A 128-bit BLAKE2b digest of the answers (by field name, so column order does not matter) and the
    timestamp text. Identical rows in one file are told apart by their occurrence number, so a
    region that sends the same row twice is counted twice, and re-reading the file still matches.
    The text hashed per row is `salt`, 0x1E, then the cells joined by 0x1F (a missing cell as 0x00);
    it is assembled by Arrow, and only the digest is computed row by row.
    """
    cols = [frame[c] for c in sorted(answer_columns)]
    if ts_text is not None:
        cols.append(ts_text)
    if not cols or len(frame) == 0:
        return np.array([hashlib.blake2b(f"{salt}\x1e{i}".encode(), digest_size=16).hexdigest()
                         for i in range(len(frame))], dtype=object)
    arrays = [_text_array(c) for c in cols]
    blake2b = hashlib.blake2b
    ids: list[str] = []
    for start in range(0, len(frame), ID_CHUNK):  # a few MB at a time, reused by the allocator
        for joined in _joined_rows([a.slice(start, ID_CHUNK) for a in arrays], salt):
            if not len(joined):
                continue
            data = memoryview(joined.buffers()[2] or b"")
            width = np.int64 if pa.types.is_large_string(joined.type) else np.int32
            bounds = np.frombuffer(joined.buffers()[1], dtype=width)[joined.offset:joined.offset + len(joined) + 1]
            bounds = bounds.tolist()
            ids += [blake2b(data[a:b], digest_size=16).hexdigest() for a, b in zip(bounds, bounds[1:])]
    if occurrences is not None:
        occurrence = occurrences.number(ids)
        for i in np.flatnonzero(occurrence):
            ids[i] = hashlib.blake2b(f"{ids[i]}#{occurrence[i]}".encode(), digest_size=16).hexdigest()
        return np.array(ids, dtype=object)
    repeated = np.flatnonzero(pd.Series(ids).duplicated(keep=False).to_numpy())  # hashing, no sort
    if len(repeated):
        same = [ids[i] for i in repeated]
        occurrence = pd.Series(same).groupby(same, sort=False).cumcount().to_numpy()
        for i, k in zip(repeated[occurrence > 0], occurrence[occurrence > 0]):
            ids[i] = hashlib.blake2b(f"{ids[i]}#{k}".encode(), digest_size=16).hexdigest()
    return np.array(ids, dtype=object)


ID_CHUNK = 65_536


def _text_array(column: pd.Series) -> pa.ChunkedArray:
    """A column as Arrow large_string chunks (zero-copy for pandas' str dtype), missing cells as NUL."""
    arr = pa.array(column.astype("str"), from_pandas=True)
    arr = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pc.fill_null(arr, "\x00")


def _joined_rows(columns: list[pa.ChunkedArray], salt: str) -> list[pa.Array]:
    """Per row: salt, 0x1E, then the cells joined by 0x1F; as arrays (one per chunk)."""
    prefix, sep, nothing = (pa.scalar(t, pa.large_string()) for t in (f"{salt}\x1e", "\x1f", ""))
    joined = pc.binary_join_element_wise(prefix, pc.binary_join_element_wise(*columns, sep), nothing)
    return joined.chunks if isinstance(joined, pa.ChunkedArray) else [joined]


# compact: the raw answers are most of `_submissions`, and `", "` after each of 40 answers is 10% of it
ANSWERS_JSON = {"ensure_ascii": False, "separators": (",", ":")}


def answers_json(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row, exactly `json.dumps({column: text or None, ...}, **ANSWERS_JSON)` over `columns`
    (the raw answers as `_submissions` keeps them), built a column at a time by Arrow. A text column
    with no missing cell and nothing to escape is joined in as it is, between quotes; otherwise its
    cells are quoted one by one, and only cells holding a quote, a backslash or a control character
    go through json.dumps. Columns that are not text go through json.dumps cell by cell."""
    large = pa.large_string()
    if not columns:
        return pd.Series("{}", index=frame.index, dtype="str")
    parts: list = []
    glue = "{"
    for i, c in enumerate(columns):
        glue += ("" if i == 0 else ",") + json.dumps(c, ensure_ascii=False) + ":"
        bare = _bare_text(frame[c])
        if bare is not None:
            parts += [pa.scalar(glue + '"', large), bare]
            glue = '"'
        else:
            parts += [pa.scalar(glue, large), _json_literals(frame[c])]
            glue = ""
    parts.append(pa.scalar(glue + "}", large))
    joined = pc.binary_join_element_wise(*parts, pa.scalar("", large))
    return pd.Series(joined.to_pandas().array, index=frame.index)


_JSON_ESCAPED = r'[\x00-\x1f"\\]'  # what json.dumps(text, ensure_ascii=False) writes as an escape


def _large_text(column: pd.Series) -> pa.ChunkedArray:
    """The column's Arrow large_string chunks as they are (no copy for pandas' str dtype)."""
    arr = pa.array(column, from_pandas=True)
    arr = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def _bare_text(column: pd.Series) -> pa.Array | None:
    """The column's text when json.dumps would only put it between quotes (text, none missing,
    nothing to escape), else None."""
    if not isinstance(column.dtype, pd.StringDtype) or column.hasnans:
        return None
    arr = _large_text(column)
    if arr.null_count or _any_escaped(arr):
        return None
    return arr


def _any_escaped(chunks: pa.ChunkedArray) -> bool:
    """Whether any cell holds a quote, a backslash or a control character: one look at the bytes
    (UTF-8 multi-byte sequences are all >= 0x80, so they never match)."""
    return any(_chunk_escaped(arr) for arr in chunks.chunks)


def _chunk_escaped(arr: pa.Array) -> bool:
    if not len(arr):
        return False
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    start, end = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    if end == start:
        return False
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[start:end]
    return bool(((data < 0x20) | (data == 0x22) | (data == 0x5C)).any())


def _json_literals(column: pd.Series) -> pa.Array:
    """json.dumps of each cell (None for a missing one -> null), as one large_string array."""
    large = pa.large_string()
    if not isinstance(column.dtype, pd.StringDtype):
        values = column.astype(object).where(column.notna(), None)
        return pa.array([json.dumps(v, ensure_ascii=False) for v in values], type=large)
    arr = _large_text(column).combine_chunks()
    quote = pa.scalar('"', large)
    literal = pc.binary_join_element_wise(quote, arr, quote, pa.scalar("", large))
    escaped = pc.fill_null(pc.match_substring_regex(arr, _JSON_ESCAPED), False)
    if pc.any(escaped).as_py():
        cells = arr.filter(escaped).to_pylist()
        literal = pc.replace_with_mask(literal, escaped,
                                       pa.array([json.dumps(v, ensure_ascii=False) for v in cells], type=large))
    return pc.fill_null(literal, "null")
