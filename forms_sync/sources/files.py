"""The file source: CSV and XLSX as regions send them (Google downloads, templates, own software).

CSV may be comma-, semicolon- or tab-separated, UTF-8 (with or without BOM), UTF-16 or
Windows-1252; every cell is read as text (pyarrow, all columns string) so leading zeros and
`12E5` survive. In XLSX a cell that is already a number or date is taken as it is: it is written
out the way the locale writes it, which the reader reads back to exactly the same value.
"""
from __future__ import annotations

import csv
import datetime as dt
import glob
import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from forms_sync.definition.model import FormDefinition, fold_header
from forms_sync.errors import UnreadableSource
from forms_sync.reading.numbers import format_number
from forms_sync.sources.base import Occurrences, RawBatch, build_batch, file_problem, header_targets

log = logging.getLogger("forms_sync.sources.files")
MAX_FILE_BYTES = 2 * 1024**3
# Python's csv module refuses a cell over 128 KB by default; a long free-text answer (a pasted
# report) is a value to check, not a reason to drop the file. Any cell of a readable file fits.
csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES - 1))


@dataclass
class FileSource:
    """Files or globs bound to one form, with an optional column mapping for foreign layouts."""

    form: str
    paths: list[str]
    locale: str | None = None  # how timestamps are written (default: the definition's locale)
    sheet: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)  # field -> file column(s)
    ignore_columns: list[str] = field(default_factory=list)
    base_dir: Path = Path(".")
    name: str = "files"

    def files(self) -> list[Path]:
        """The matching files, sorted. A named file that is missing is an error (a typo, a lost mount);
        a glob that matches nothing is only logged (an inbox may be empty)."""
        found: list[Path] = []
        for pattern in self.paths:
            full = pattern if os.path.isabs(pattern) else str(self.base_dir / pattern)
            if not glob.has_magic(full):
                if not Path(full).is_file():
                    what = "is a folder, not a file" if Path(full).is_dir() else "file not found"
                    raise UnreadableSource(f"{full}: {what}. Check the path in the config "
                                           f"(source of form {self.form}); use a glob such as inbox/*.csv "
                                           "for a folder.")
                found.append(Path(full))
                continue
            hits = [Path(h) for h in sorted(glob.glob(full, recursive=True))
                    if not Path(h).name.startswith(("~$", ".~lock")) and Path(h).is_file()]
            if not hits:
                log.warning("form %s: no file matches %s", self.form, full)
            found.extend(hits)
        return sorted(dict.fromkeys(found))

    def reads(self, watermarks: dict[str, str], full: bool = False) -> tuple[list["FileRead"], list[dict]]:
        """The files whose content changed since their committed watermark, each scanned once
        (sha256, and whether only its end is new); and an entry per file skipped as unchanged."""
        todo, entries = [], []
        for path in self.files():
            label = self.label(path)
            before = None if full else parse_watermark(watermarks.get(label))
            try:
                scanned = scan_file(path, before)
            except OSError as exc:
                raise UnreadableSource(f"{path}: cannot be read ({exc.strerror})") from None
            if before is not None and before.get("sha256") == scanned.sha256:
                entries.append({"source": label, "status": "unchanged"})
                continue
            todo.append(FileRead(self, path, label, scanned))
        return todo, entries

    def label(self, path: Path) -> str:
        try:
            return "file:" + str(path.resolve().relative_to(self.base_dir.resolve()))
        except ValueError:
            return "file:" + str(path)


STREAM_BYTES = 32 * 1024**2  # a UTF-8 CSV file larger than this is read in parts...
CHUNK_ROWS = 100_000  # ...of about this many rows, so memory grows with the part, not the file
SCAN_BLOCK = 1 << 22
PART_BLOCK = 1 << 20  # bytes Arrow parses at a time (a record must fit in one; cells stop at 50,000 characters)


class StreamBroken(Exception):
    """A file read in parts turned out to need the whole-file reader (ragged rows, another
    encoding, a file-level error): what was stored from it is rolled back and it is read whole."""


@dataclass
class Scan:
    """What one pass over a file's bytes tells before it is read."""

    sha256: str
    size: int
    quotes_even: bool  # quotes pair up (else the whole-file reader explains the problem)
    plain_text: bool  # neither a workbook nor UTF-16/binary: a candidate to be read in parts
    ends_line: bool  # the last byte is a line end: rows appended later start a record
    resume: dict | None  # the earlier watermark, when the file only grew at its end since


def parse_watermark(value: str | None) -> dict | None:
    """A file watermark: JSON {sha256, size, records, resumable}; older ones are the bare sha256."""
    if value is None:
        return None
    if value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return {"sha256": value}


def scan_file(path: Path, before: dict | None) -> Scan:
    """sha256 of the file (4 MB blocks), its quote count, and whether its first `before["size"]`
    bytes are still the ones read last time (then only what follows is new)."""
    h = hashlib.sha256()
    size = quotes = 0
    first = last = b""
    cut = before.get("size") if before and before.get("resumable") else None
    prefix = None
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(SCAN_BLOCK), b""):
            if not size:
                first = block[:65536]
            if cut is not None and prefix is None and size <= cut <= size + len(block):
                h.update(block[:cut - size])
                prefix = h.hexdigest()
                h.update(block[cut - size:])
            else:
                h.update(block)
            quotes += block.count(b'"')
            size += len(block)
            last = block[-1:]
    resume = before if cut is not None and size > cut and prefix == before.get("sha256") else None
    return Scan(h.hexdigest(), size, quotes % 2 == 0, _plain_text(first), last in (b"\n", b"\r"), resume)


def _plain_text(first: bytes) -> bool:
    """From a file's first 64 KB: neither a workbook nor UTF-16 or binary."""
    return not first.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\xff\xfe", b"\xfe\xff")) \
        and b"\x00" not in first


@dataclass
class FileRead:
    """One changed file of a source: read in parts when it is a large (or only grown) UTF-8 CSV,
    else whole; `watermark()` is what to commit once its rows are stored."""

    source: FileSource
    path: Path
    label: str
    scan: Scan
    records: int = 0
    failed: bool = False
    whole_read: bool = False

    @property
    def appended_only(self) -> bool:
        return self.scan.resume is not None and self.scan.plain_text and self.scan.quotes_even

    @property
    def in_parts(self) -> bool:
        return self.appended_only or (self.scan.plain_text and self.scan.quotes_even
                                      and self.scan.size > STREAM_BYTES)

    def batches(self, definition: FormDefinition, timezone: str, earlier=None) -> Iterator[RawBatch]:
        """The file's rows as batches. Parts may raise StreamBroken: roll back, then call whole().

        `earlier(ids)`: for a grown file read from where it ended, how often each row id occurs in
        the part already stored (see base.Occurrences)."""
        if not self.in_parts:
            yield self.whole(definition, timezone)
            return
        start = self.scan.resume["size"] if self.appended_only else 0
        first = self.scan.resume.get("records", 0) + 1 if self.appended_only else 1
        occurrences = Occurrences(earlier if self.appended_only else None)
        self.records = first - 1
        src = self.source
        for batch in _read_csv_parts(definition, self.path, self.label, timezone, start, first, occurrences,
                                     locale=src.locale or definition.locale, mapping=src.columns,
                                     ignore=src.ignore_columns):
            self.records += batch.records
            yield batch

    def whole(self, definition: FormDefinition, timezone: str) -> RawBatch:
        src = self.source
        batch = read_file(definition, self.path, locale=src.locale, timezone=timezone, sheet=src.sheet,
                          mapping=src.columns, ignore=src.ignore_columns, label=self.label)
        self.records, self.failed, self.whole_read = batch.records, batch.failed, True
        return batch

    def watermark(self) -> str:
        s = self.scan
        resumable = s.plain_text and s.quotes_even and s.ends_line and not self.failed and (
            self.in_parts and not self.whole_read)  # read by the part reader: a UTF-8 CSV it can resume
        return json.dumps({"sha256": s.sha256, "size": s.size, "records": self.records, "resumable": resumable})


def _text_cells(names: list[str], delim: str, block: int, threads: bool = False) -> dict:
    """Arrow CSV options for a read where every cell is text and an empty cell, quoted or not, is
    NA; large_string is what pandas' str dtype holds, so columns pass to pandas without a cast."""
    return {"read_options": pacsv.ReadOptions(column_names=names, block_size=block, use_threads=threads),
            "parse_options": pacsv.ParseOptions(delimiter=delim, newlines_in_values=True),
            "convert_options": pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                                    null_values=[""], strings_can_be_null=True,
                                                    quoted_strings_can_be_null=True)}


def read_parts(definition: FormDefinition, path: str | Path, *, locale: str | None = None,
               timezone: str = "Asia/Jakarta") -> Iterator[RawBatch] | None:
    """A large UTF-8 CSV file's rows in parts of CHUNK_ROWS, as read_file would give them but
    without submission ids (`validate` needs none); None for a file to be read whole. The parts
    may raise StreamBroken (then read the file whole: its reader explains what is wrong)."""
    path = Path(path)
    try:
        if path.stat().st_size <= STREAM_BYTES:
            return None
        quotes = 0
        with open(path, "rb") as fh:
            first = fh.read(65536)
            if not _plain_text(first):
                return None
            quotes = first.count(b'"') + sum(block.count(b'"') for block in iter(lambda: fh.read(SCAN_BLOCK), b""))
    except OSError:
        return None  # the whole reader says what is wrong
    if quotes % 2:
        return None
    return _read_csv_parts(definition, path, f"file:{path}", timezone, 0, 1, None, ids=False,
                           locale=locale or definition.locale)


def _read_csv_parts(definition: FormDefinition, path: Path, label: str, timezone: str, start: int,
                    first_record: int, occurrences: Occurrences | None, *, locale: str, mapping=None, ignore=None,
                    ids: bool = True) -> Iterator[RawBatch]:
    """A UTF-8 CSV file from byte `start` (0, or where an earlier read ended), CHUNK_ROWS rows at a
    time, through the same header matching and batch building as a whole read. A part with a
    file-level fault raises StreamBroken."""
    with open(path, "rb") as fh:
        data = fh.read(HEAD_BYTES + 4)
    body = memoryview(data)[3:] if data[:3] == b"\xef\xbb\xbf" else memoryview(data)
    try:
        head, whole = _head(body)
    except UnicodeDecodeError:
        raise StreamBroken(label) from None
    delim = _delimiter(head)
    try:
        header = _header(path, head, delim, whole)
    except UnreadableSource:
        raise StreamBroken(label) from None
    if not header or all(not h.strip() for h in header):
        raise StreamBroken(label)
    names = [f"c{i}" for i in range(len(header))]
    record, produced = first_record, 0

    def batch_of(table: pa.Table) -> RawBatch:
        nonlocal record, produced
        cells = pd.DataFrame({i: table.column(i).to_pandas() for i in range(len(names))})
        out = build_batch(definition, label, header, cells, locale=locale, timezone=timezone, mapping=mapping,
                          ignore=ignore, first_row=record, occurrences=occurrences, ids=ids)
        if out.failed:  # file-level verdicts (bad timestamps, columns) are the whole reader's
            raise StreamBroken(label)
        record += len(cells)
        produced += out.rows  # blank rows are no submission
        return out

    with open(path, "rb") as fh:
        fh.seek(start)
        try:
            reader = pacsv.open_csv(fh, **_text_cells(names, delim, PART_BLOCK))
            pending, rows, skip = [], 0, start == 0  # the header record comes first in a read from the top
            for part in reader:
                if skip:
                    part, skip = part.slice(1), False
                pending.append(part)
                rows += part.num_rows
                while rows >= CHUNK_ROWS:
                    table = pa.Table.from_batches(pending, schema=part.schema)
                    rest = table.slice(CHUNK_ROWS)
                    pending, rows = rest.to_batches(), rest.num_rows
                    yield batch_of(table.slice(0, CHUNK_ROWS))
        except (pa.ArrowInvalid, pa.ArrowException):  # ragged rows, not UTF-8: the whole reader explains
            raise StreamBroken(label) from None
    if rows:
        yield batch_of(pa.Table.from_batches(pending, schema=pending[0].schema))
    if not produced and start == 0:  # no submission at all: the whole reader says so
        raise StreamBroken(label)


def read_file(definition: FormDefinition, path: str | Path, *, locale: str | None = None,
              timezone: str = "Asia/Jakarta", sheet: str | None = None, mapping=None, ignore=None,
              label: str | None = None, ids: bool = True) -> RawBatch:
    """Read one CSV/XLSX file into a RawBatch (`ids=False`: without submission ids). Raises
    UnreadableSource when it cannot be read at all."""
    path = Path(path)
    locale = locale or definition.locale
    # Typed XLSX cells are written in the locale answers are read in (the definition's), whatever
    # locale the file's timestamps use.
    headers, cells = read_table(path, locale=definition.locale, sheet=sheet, definition=definition, mapping=mapping)
    source = label or f"file:{path}"
    if not headers or all(not str(h).strip() for h in headers):
        raise UnreadableSource(f"{path}: the file is empty (no header row). Send the filled template "
                               "with its header row.")
    batch = build_batch(definition, source, headers, cells, locale=locale, timezone=timezone,
                        mapping=mapping, ignore=ignore, ids=ids)
    if batch.rows == 0 and not batch.failed:
        batch.problems.insert(0, file_problem("empty_file", key="empty_file.header_only"))
        batch.failed = True
    return batch


def read_table(path: Path, *, locale: str = "id", sheet: str | None = None,
               definition: FormDefinition | None = None, mapping=None) -> tuple[list[str], pd.DataFrame]:
    """Header and text cells (columns by position; NA for empty cells) of a CSV or XLSX file."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableSource(f"{path}: the file is larger than 2 GB; split it by period.")
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise UnreadableSource(f"{path}: file not found. Check the path.") from None
    except IsADirectoryError:
        raise UnreadableSource(f"{path}: is a folder, not a file.") from None
    except OSError as exc:
        raise UnreadableSource(f"{path}: cannot be read ({exc.strerror}). Check its permissions.") from None
    if not data[:65536].strip() and not data.strip():
        raise UnreadableSource(f"{path}: the file is empty. Send the filled template with its header row.")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(path, data, locale, sheet, definition, mapping)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise UnreadableSource(f"{path}: is an old Excel .xls file; open it in Excel and save it as "
                               ".xlsx or CSV, then send it again.")
    return _read_csv(path, data)


def _decode(path: Path, data: bytes) -> tuple[str, bool]:
    """The file's text, and whether the bytes were UTF-8 already (then pyarrow reads them as they are)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), False
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data[:65536]:
        try:
            return data.decode("utf-8-sig"), True
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = None
            if text is not None and _looks_like_text(text):
                return text, False
    raise UnreadableSource(f"{path}: is not a CSV or XLSX file (binary content or an unknown encoding). "
                           "Save it as CSV UTF-8 or as .xlsx and send it again.")


def _looks_like_text(text: str) -> bool:
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return controls <= len(sample) // 1000


def _delimiter(text: str) -> str:
    first = re.match(r"[^\r\n]*", text).group()  # the first line, whatever ends it (CR alone too)
    counts = {d: _count_outside_quotes(first, d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, delim: str) -> int:
    n, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delim and not quoted:
            n += 1
    return n


def _read_csv(path: Path, data: bytes) -> tuple[list[str], pd.DataFrame]:
    body = _utf8_body(data)
    if body is None:  # UTF-16, Windows-1252 (or not text at all): decoded, then handed on as UTF-8
        text, _ = _decode(path, data)
        if "\x00" in text:
            raise UnreadableSource(f"{path}: holds NUL bytes, so it is not a text CSV file. Save it as CSV UTF-8.")
        body, head, whole = memoryview(text.encode("utf-8")), text, True
    else:  # UTF-8: pyarrow reads the bytes as they are; Python decodes only the first lines
        if b"\x00" in data:
            raise UnreadableSource(f"{path}: holds NUL bytes, so it is not a text CSV file. Save it as CSV UTF-8.")
        text = None
        head, whole = _head(body)
    delim = _delimiter(head)
    header = _header(path, head, delim, whole)
    if header is None:  # a header record longer than the first lines: read it from the whole text
        text = head = bytes(body).decode("utf-8")
        header = _header(path, head, delim, True)
    names = [f"c{i}" for i in range(len(header))]
    try:
        # 1 MB blocks parsed by Arrow's threads: 0.9 s for 460 MB on 2 cores (one thread: 1.7 s)
        table = pacsv.read_csv(pa.BufferReader(pa.py_buffer(body)), **_text_cells(names, delim, 1 << 20, threads=True))
        cells = pd.DataFrame({n: table.column(n).to_pandas() for n in names}).iloc[1:]
    except (pa.ArrowInvalid, pa.ArrowException):
        text = text if text is not None else bytes(body).decode("utf-8")
        if text.count('"') % 2:
            _check_quotes(path, text, delim)
        try:
            cells = _read_csv_slow(text, delim, len(header))
        except UnreadableSource as exc:
            raise UnreadableSource(f"{path}: {exc}") from None
        header = header + [""] * (cells.shape[1] - len(header))
        cells = cells.replace("", pd.NA) if len(cells) else cells
    if bytes(body).count(b'"') % 2:  # quotes come in pairs in a well-formed CSV: look closer
        _check_quotes(path, text if text is not None else bytes(body).decode("utf-8"), delim)
    cells = cells.reset_index(drop=True)
    cells.columns = range(cells.shape[1])
    return [str(h) for h in header], cells


def _check_quotes(path: Path, text: str, delim: str) -> None:
    """Refuse a file whose quoted cell never closes: a lenient reader would swallow every row after it."""
    reader = csv.reader(_lines(text), delimiter=delim, strict=True)
    record_start = 1
    try:
        for _ in reader:
            record_start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc) or "EOF" in str(exc):
            raise UnreadableSource(
                f"{path}: a quote (\") opened on line {record_start} is never closed, so the rows after "
                "it cannot be told apart. Close the quote or remove it, then send the file again.") from None
        raise UnreadableSource(f"{path}: the quotes (\") of the row starting on line {record_start} do not "
                               f"pair up ({exc}), so its cells cannot be told apart. Fix the quotes, or save "
                               "the file again as CSV from Excel or Google Sheets.") from None


HEAD_BYTES = 1 << 20  # the header (and the delimiter) are read from the lines in the first MB


def _utf8_body(data: bytes) -> memoryview | None:
    """The bytes after a UTF-8 BOM, when they are UTF-8 (what `_decode` would read as UTF-8), else
    None. Validated by Arrow in place: no 2nd copy of the file as a Python str."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:65536]:
        return None
    body = memoryview(data)[3:] if data[:3] == b"\xef\xbb\xbf" else memoryview(data)
    offsets = pa.py_buffer(np.array([0, len(body)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(body)]).validate(full=True)
    except pa.ArrowInvalid:
        return None
    return body


def _head(body: memoryview) -> tuple[str, bool]:
    """The text of the first whole lines (up to HEAD_BYTES), and whether that is the whole file."""
    if len(body) > HEAD_BYTES:
        cut = bytes(body[:HEAD_BYTES]).rfind(b"\n")
        if cut >= 0:
            return bytes(body[:cut + 1]).decode("utf-8"), False
    return bytes(body).decode("utf-8"), True


def _header(path: Path, head: str, delim: str, whole: bool) -> list[str] | None:
    """The first record of `head`; None when `head` is not the whole file and the record may run on."""
    reader = csv.reader(_lines(head), delimiter=delim)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        if whole:
            raise UnreadableSource(f"{path}: no header row could be read. Send the filled template.") from None
        return None
    if not whole and reader.line_num >= head.count("\n"):
        return None
    return header


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str):
    """The text's lines with their line ends, for Python's csv reader, without copying the whole
    file into a StringIO. A lone CR ends a line too (old Mac "CSV (Macintosh)" files, a stray CR),
    as it does for Excel and Arrow's reader; csv would otherwise refuse it inside an unquoted cell.
    Inside a quoted cell the csv reader joins the lines back, line ends included."""
    return (m.group() for m in _LINE.finditer(text))


def _read_csv_slow(text: str, delim: str, width: int) -> pd.DataFrame:
    """Rows with a ragged number of cells: padded, never dropped (extra cells become unnamed columns)."""
    try:
        rows = [r for r in csv.reader(_lines(text), delimiter=delim) if r][1:]
    except csv.Error as exc:
        raise UnreadableSource(f"its rows cannot be told apart ({exc}). Save the file again as CSV "
                               "from Excel or Google Sheets and send it again.") from None
    for n, r in enumerate(rows, start=1):
        if len(r) > width and any(c.strip() for c in r[width:]):
            raise UnreadableSource(
                f"row {n} has {len(r)} cells but the header has {width}: a value holding the separator "
                f"{delim!r} without quotes shifts the columns. Quote such values (or save the file again "
                "from Excel or Google Sheets) and send it again.")
    width = max([width, *(len(r) for r in rows)])
    rows = [r + [""] * (width - len(r)) for r in rows]
    return pd.DataFrame(rows, columns=range(width), dtype="str") if rows else \
        pd.DataFrame(columns=range(width), dtype="str")


def _read_xlsx(path: Path, data: bytes, locale: str, sheet: str | None,
               definition: FormDefinition | None, mapping=None) -> tuple[list[str], pd.DataFrame]:
    import zipfile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableSource(f"{path}: is not a readable .xlsx workbook ({exc.__class__.__name__}). "
                               "Open it in Excel, save it again as .xlsx or CSV, and send it again.") from None
    try:
        ws = _pick_sheet(path, wb, sheet, definition)
        rows = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    top = _first_filled(rows)  # blank rows above the header (spacing left by hand) hold nothing
    if top is None:
        return [], pd.DataFrame()
    header = ["" if h is None else str(h) for h in rows[top]]
    while header and not header[-1].strip():
        header.pop()
    width = len(header)
    months = _monthly_period_column(header, definition, mapping)
    body = []
    for r in rows[top + 1:]:
        cells = [typed_cell_text(v, locale) for v in r]
        if months is not None and months < len(r) and _first_of_month(r[months]):
            cells[months] = f"{r[months].year:04d}-{r[months].month:02d}"  # Excel made "Nov 2026" a date
        if len(cells) > width and any(c is not None for c in cells[width:]):
            extra = len(cells) - width
            header += [""] * extra
            width = len(header)
        cells = (cells + [None] * width)[:width]
        body.append(cells)
    while body and all(c is None for c in body[-1]):  # formatting below the data
        body.pop()
    frame = pd.DataFrame(body, columns=range(width), dtype="str") if body else \
        pd.DataFrame(columns=range(width), dtype="str")
    return header, frame


def _monthly_period_column(header: list[str], definition: FormDefinition | None, mapping=None) -> int | None:
    """The period column of a monthly form's sheet (as build_batch matches it: by its label, or
    the column the source maps to `period`), where Excel may have turned "Nov 2026" into a date."""
    if definition is None or definition.period != "monthly":
        return None
    targets = header_targets(definition, mapping)
    return next((i for i, h in enumerate(header) if targets.get(fold_header(h)) == "period"), None)


def _first_of_month(value) -> bool:
    """A date cell at midnight on the 1st: what Excel stores for a typed month ("Nov 2026", "11/2026")."""
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time(0) else None
    # 1900-01-01 is Excel's day 1: a 1 typed into a date cell, not a month anyone reports
    return isinstance(value, dt.date) and value.day == 1 and value.year > 1900


HEADER_SEARCH_ROWS = 50  # blank rows above a sheet's header that are looked past


def _first_filled(rows: list[tuple]) -> int | None:
    """The index of the first row with a cell that is not blank (within HEADER_SEARCH_ROWS, else 0)."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(c is not None and str(c).strip() for c in row):
            return i
    return 0 if len(rows) > HEADER_SEARCH_ROWS else None


def _pick_sheet(path, wb, sheet, definition):
    if sheet:
        if sheet not in wb.sheetnames:
            raise UnreadableSource(f"{path}: has no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)}).")
        return wb[sheet]
    if definition is not None:  # the sheet whose header row holds the region question
        want = fold_header(definition.region_label)
        found = []
        for ws in wb.worksheets:
            top = list(ws.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True))
            first = _first_filled(top)
            if first is not None and any(fold_header(c) == want for c in top[first] if c is not None):
                found.append(ws)
        if len(found) > 1:  # reading one would silently drop the rows of the others
            names = ", ".join(repr(ws.title) for ws in found)
            raise UnreadableSource(f"{path}: {len(found)} sheets ({names}) have a {definition.region_label!r} "
                                   "column. Put all rows on one sheet, or name the sheet to read "
                                   "(sheet = \"...\" in the config).")
        if found:
            return found[0]
    return wb.worksheets[0]


def typed_cell_text(value, locale: str) -> str | None:
    """A typed XLSX cell written as its locale writes it, so reading it gives back the same value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("Ya" if value else "Tidak") if locale == "id" else ("Yes" if value else "No")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return format_number(value, locale).replace("." if locale == "id" else ",", "")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
