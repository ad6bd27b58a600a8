"""SQLite bulk inserts through Arrow: the large-frame path of database.insert on SQLite.

Python's sqlite3 binds one Python object per value: for a million 46-column rows, building those
objects and binding them costs three times what SQLite spends storing them. Here the ADBC SQLite
driver binds the frame's Arrow columns in C into a scratch database file; this connection loads
that file's image as the in-memory schema `forms_sync_stage` (sqlite3's deserialize, which works
inside the open transaction, where a DETACH of an attached file would not) and copies the rows
with one INSERT ... SELECT. The target column's affinity applies to each value exactly as it does
to a bound one, and every Arrow column is checked to hold what SQLAlchemy's bind processor gives
for the same value, so the stored rows are those the executemany path stores.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from forms_sync.errors import DatabaseError

try:
    import fcntl  # stage folders are locked while in use, where the platform can
except ImportError:  # Windows
    fcntl = None

PREFIX = "forms-sync-stage-"  # scratch folders in TMPDIR
IN_USE = "in-use"  # the file a live run holds locked in its scratch folder
SETTLE_SECONDS = 60  # a younger folder is left alone: its run may not have locked it yet
STAGE = "forms_sync_stage"  # the in-memory schema the scratch image is loaded as
MIN_ROWS = 10_000  # below this, plain executemany is as quick


def usable(conn: sa.Connection, rows: int) -> bool:
    """True when a frame of `rows` rows goes through the stage on this connection."""
    if rows < MIN_ROWS or conn.dialect.name != "sqlite":
        return False
    if not hasattr(conn.connection.driver_connection, "deserialize"):  # SQLite built without it
        return False
    info = conn.connection.info  # lives as long as the DB-API connection
    if "forms_sync_encoding" not in info:
        info["forms_sync_encoding"] = conn.exec_driver_sql("PRAGMA main.encoding").scalar()
    if info["forms_sync_encoding"] != "UTF-8":  # an attached image must share the main text encoding
        return False
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def arrow_rows(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame):
    """The frame's columns of `table` as a pyarrow Table holding, value for value, what the
    executemany path binds (None when a column is not of a kind handled here)."""
    import pyarrow as pa
    columns = [c for c in frame.columns if c in table.c]
    arrays = []
    for name in columns:
        bind = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        try:
            array = _column(frame[name])
            if array is not None and pa.types.is_integer(array.type) and bind is not None \
                    and isinstance(bind(1), float):  # whole numbers into NUMERIC go as floats
                array = array.cast(pa.float64(), safe=False)  # rounded as float() rounds
            agrees = array is not None and _agrees(frame[name], array, bind)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):  # executemany says what is wrong
            agrees = False
        if not agrees:
            return None
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=columns) if columns else None


def _column(series: pd.Series):
    """One column as Arrow values sqlite3 would be given: 0/1 for flags, ISO text for dates and
    times (SQLAlchemy's storage format on SQLite), int64, float64, text; None for anything else."""
    import pyarrow as pa
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = series.isna().to_numpy()
    dtype = series.dtype
    if missing.all():
        return pa.nulls(len(series))
    if pd.api.types.is_bool_dtype(dtype):
        return pa.array(series.to_numpy(dtype=bool, na_value=False).astype("int64"), mask=missing)
    if pd.api.types.is_integer_dtype(dtype):
        return pa.array(series.to_numpy(dtype="int64", na_value=0), mask=missing)
    if pd.api.types.is_float_dtype(dtype):
        return pa.array(series.to_numpy(dtype="float64", na_value=np.nan), mask=missing)
    if pd.api.types.is_datetime64_dtype(dtype):
        stamps = series.to_numpy(dtype="datetime64[us]")
        present = stamps[~missing]
        if present.min() < np.datetime64("0001-01-01") or present.max() >= np.datetime64("10000-01-01"):
            return None  # a year Python's datetime cannot hold: the executemany path says what is wrong
        return pa.array(stamps, mask=missing).cast(pa.string())  # 2026-12-03 09:15:02.000000
    if isinstance(dtype, pd.StringDtype):
        array = pa.array(series, from_pandas=True)  # no copy for Arrow-backed text
        return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if dtype != object:
        return None
    values = series.to_numpy(dtype=object).copy()
    values[missing] = None
    kinds = set(map(type, values[~missing]))  # exact types: a datetime is not taken for a date
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind is str:
        return pa.array(values, type=pa.string())
    if kind is int:
        return pa.array(values, type=pa.int64())
    if kind is dt.date:
        return pa.array(values, type=pa.date32()).cast(pa.string())
    return None


def _agrees(series: pd.Series, array, bind) -> bool:
    """True when the first and last present values are, in type and value, what the executemany
    path binds for them (its Python value, through the column's bind processor)."""
    from forms_sync.store.database import _python_values
    present = np.flatnonzero(~series.isna().to_numpy())
    for i in {int(present[0]), int(present[-1])} if len(present) else ():
        expected = _python_values(series.iloc[i:i + 1])[0]
        if bind is not None:
            expected = bind(expected)
        got = array[i].as_py()
        if isinstance(expected, bool):
            expected = int(expected)
        if type(got) is not type(expected) or got != expected:
            return False
    return True


def insert(conn: sa.Connection, table_name: str, data) -> None:
    """Append an Arrow table (from arrow_rows) to `table_name` inside the connection's transaction."""
    copy_image(conn, table_name, data.column_names, image(data))


def image(data) -> bytes:
    """The bytes of a scratch SQLite database holding `data` as table `rows`. It touches no
    connection of the caller's, and the ADBC driver binds without the GIL: it may run in a thread."""
    import adbc_driver_manager
    import adbc_driver_sqlite.dbapi as adbc
    try:
        _remove_abandoned()
        with tempfile.TemporaryDirectory(prefix=PREFIX) as folder, \
                open(os.path.join(folder, IN_USE), "w") as in_use:
            _lock(in_use)
            path = os.path.join(folder, "stage.db")
            with adbc.connect(path, autocommit=True) as scratch, scratch.cursor() as cur:
                cur.execute("PRAGMA journal_mode=OFF")  # a scratch file: nothing to recover
                cur.execute("PRAGMA synchronous=OFF")
                # in autocommit mode a failed write is reported as the driver's failed ROLLBACK
                # ("no transaction is active"); in one transaction the cause itself is raised
                scratch.adbc_connection.set_autocommit(False)
                cur.adbc_ingest("rows", data, mode="create")
                scratch.adbc_connection.commit()
            return Path(path).read_bytes()
    except (OSError, adbc_driver_manager.Error) as exc:  # full or unwritable temporary folder
        lines = str(exc).strip().splitlines() or [exc.__class__.__name__]
        cause = re.sub(r"^[A-Z_]+: (failed to execute: )?", "", lines[0])  # the driver's status prefix
        raise DatabaseError(f"rows could not be staged in {_temporary_folder(data.nbytes)}: {cause}. Free "
                            "space there or point TMPDIR to a folder with room; nothing was written.") from None


def _temporary_folder(needed: int) -> str:
    """The temporary folder, its free space and about what the rows need, as far as they can be told."""
    from forms_sync.store.database import free_space
    try:
        folder = tempfile.gettempdir()
    except OSError:
        return "the temporary folder (none of TMPDIR, /tmp, /var/tmp can be written)"
    return f"{folder} ({free_space(Path(folder))} there, about {max(needed / 1e6, 1):,.0f} MB needed)"


def _lock(in_use) -> None:
    """Hold the folder's IN_USE file locked for as long as this process lives (the kernel lets go
    when it dies, however it dies); where flock is missing, folders are never swept."""
    if fcntl is not None:
        fcntl.flock(in_use, fcntl.LOCK_EX)


@functools.cache
def _remove_abandoned() -> None:
    """Remove the stage folders of runs that were killed (kill -9, power loss) before their clean-up
    ran, once per process: a folder whose IN_USE file no process holds locked. A lock, not a process
    id, because a run in another container sharing TMPDIR has a process id this one cannot see.
    Folders younger than SETTLE_SECONDS may not be locked yet; other users' are not ours to remove."""
    if fcntl is None:
        return
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            if not folder.is_dir() or now - folder.stat().st_mtime < SETTLE_SECONDS:
                continue
            with open(folder / IN_USE, "a") as in_use:
                fcntl.flock(in_use, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a live run's
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def copy_image(conn: sa.Connection, table_name: str, columns: list[str], staged: bytes) -> None:
    """Copy the rows of an image() into `table_name`, inside the connection's transaction."""
    sqlite = conn.connection.driver_connection
    if STAGE not in {row[1] for row in conn.exec_driver_sql("PRAGMA database_list")}:
        conn.exec_driver_sql(f"ATTACH DATABASE ':memory:' AS {STAGE}")
    sqlite.deserialize(staged, name=STAGE)
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    try:
        conn.exec_driver_sql(f"INSERT INTO {quote(table_name)} ({names}) SELECT {names} FROM {STAGE}.rows")
    finally:
        sqlite.deserialize(_empty_image(), name=STAGE)  # the staged rows' memory back


@functools.cache
def _empty_image() -> bytes:
    with closing(sqlite3.connect(":memory:")) as empty:
        empty.execute("CREATE TABLE rows (x)")
        empty.execute("DROP TABLE rows")
        return empty.serialize()
