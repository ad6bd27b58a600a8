"""Files for people and dashboards: CSV, Parquet and XLSX, each written atomically.

A reader never sees a half-written file: each is written to a temporary file in the same folder
and renamed over the old one. CSV and XLSX are opened by people in spreadsheet programs, so a text
cell that starts like a formula gets a leading `'`; Parquet keeps the true values.
"""
from __future__ import annotations

import errno
import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _new_file_mode(probe: Path) -> int:
    """The mode a plain open() gives a new file (0o666 minus the umask), read off a file just made.

    Reading the umask with os.umask() would briefly change it for every thread; creating a file with
    mode 0o666 and looking at what it got does not.
    """
    return stat.S_IMODE(os.stat(probe).st_mode) & 0o666


def _create_temp(path: Path) -> Path:
    """Create an empty temporary file beside `path` with the permissions a plain open() would give."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds.

    The final file gets the permissions a plain open() would give a new file (0o666 minus the
    umask, so 0644 under the usual 022): exports are read by dashboard users and templates are
    mailed, unlike tempfile.mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path)
    try:
        mode = _new_file_mode(tmp)
        yield tmp
        os.chmod(tmp, mode)  # a writer may have replaced the file rather than written into it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix `'` to text cells a spreadsheet would run as a formula (CSV/XLSX only)."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            text = s.astype("str")
            risky = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
            if risky.any():
                out[col] = s.astype(object).where(~risky, "'" + text)
    return out


def write_csv_atomic(frame: pd.DataFrame, path: Path, *, for_people: bool = True) -> None:
    """`for_people=False` (validate --clean-out) keeps the true values: no formula escaping."""
    data = escape_formulas(frame) if for_people else frame
    with atomic_path(path) as tmp:
        data.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_xlsx_atomic(frame: pd.DataFrame, path: Path, sheet: str = "data") -> None:
    data = escape_formulas(frame)
    for col in data.columns:  # Excel has no time zones: write UTC wall time
        if isinstance(data[col].dtype, pd.DatetimeTZDtype):
            data[col] = data[col].dt.tz_convert("UTC").dt.tz_localize(None)
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            data.to_excel(writer, index=False, sheet_name=sheet[:31])


def read_form_table(engine, definition) -> pd.DataFrame:
    """The clean table with pandas types per field (Int64, Float64, datetime, boolean, object)."""
    import sqlalchemy as sa  # here, not at import: `validate` writes files without a database

    from forms_sync.store import tables as T

    table = T.form_table(definition)
    with engine.connect() as conn:
        frame = pd.read_sql(sa.select(table).order_by(table.c.period, table.c.region), conn)
    for f in definition.fields:
        s = frame[f.name]
        if f.type == "integer":
            frame[f.name] = pd.to_numeric(s).astype("Int64")
        elif f.type == "number":
            frame[f.name] = pd.to_numeric(s).astype("Float64")
        elif f.type == "date":
            frame[f.name] = pd.to_datetime(s).astype("datetime64[s]")
        elif f.type == "boolean":
            frame[f.name] = s.map(lambda v: None if v is None or pd.isna(v) else bool(int(v))).astype("boolean")
        else:
            frame[f.name] = s.astype(object)
    for c in ("_submitted_at", "_synced_at"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


def export_form(engine, definition, exports_dir: Path, formats, *,
                force: bool) -> list[Path]:
    """exports/<form>.csv|.parquet|.xlsx from the clean table; skipped when nothing changed."""
    from forms_sync.canonical import canonical_frame

    targets = {fmt: Path(exports_dir) / f"{definition.id}.{fmt}" for fmt in formats}
    if not force and all(p.exists() for p in targets.values()):
        return []
    frame = read_form_table(engine, definition)
    meta = ["_submitted_at", "_submission_id", "_source", "_synced_at"]
    if "csv" in targets:
        text = canonical_frame(definition, frame)
        for c in meta:
            text[c] = frame[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ") if c.endswith("_at") else frame[c]
            text[c] = text[c].fillna("")
        write_csv_atomic(text, targets["csv"])
    if "parquet" in targets:
        pq = frame.copy()
        for f in definition.fields:
            if f.type == "date":
                pq[f.name] = pq[f.name].dt.date
        write_parquet_atomic(pq, targets["parquet"])
    if "xlsx" in targets:
        write_xlsx_atomic(frame, targets["xlsx"], sheet=definition.id)
    return list(targets.values())
