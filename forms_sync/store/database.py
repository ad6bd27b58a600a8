"""Opening the database, keeping tables in step with definitions, and set-wise writes.

Any SQLAlchemy URL works; SQLite is the default, PostgreSQL (psycopg 3) and MariaDB/MySQL
(PyMySQL) are tested live. Bulk writes take the fastest plain path each database offers: COPY on
PostgreSQL (of CSV that Arrow renders, for large frames), on SQLite Arrow columns bound in C by
the ADBC driver (large frames, sqlite_stage) or one DB-API executemany of tuples, large multi-row
INSERT statements on MySQL/MariaDB; upserts de-duplicate by key first
because PostgreSQL refuses a batch that touches one key twice.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sqlalchemy as sa

from forms_sync.definition.model import FormDefinition
from forms_sync.errors import ConfigError, DatabaseError, SchemaChangeRefused, UnreadableSource
from forms_sync.store import sqlite_stage
from forms_sync.store import tables as T

if TYPE_CHECKING:
    import pyarrow as pa  # imported where used: only PostgreSQL's bulk path needs it

CHUNK = 5_000  # rows per statement with bound parameters (IN lists, the generic fallback)
BATCH = 50_000  # rows per DB-API executemany call
COPY_MIN_ROWS = 1_000  # below this, a staging table costs more than it saves (and CSV rendering too)
COPY_BLOCK = 100_000  # rows of CSV handed to PostgreSQL's COPY at a time
STATEMENT_BYTES = 1_000_000  # MySQL multi-row INSERTs: well under any max_allowed_packet (4 MB and up)
SQLITE_CACHE_KB = 256 * 1024  # SQLite page cache per connection
DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}
RAW_DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb")  # written through the driver, not SQLAlchemy


def utcnow() -> dt.datetime:
    """Naive UTC, as every time is stored."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def open_engine(url: str) -> sa.Engine:
    """An engine for any SQLAlchemy URL, with one clear line when the database can't be reached.

    `postgresql://` and `mysql://`/`mariadb://` without a driver use psycopg 3 and PyMySQL, the
    drivers of the `postgresql` and `mysql` extras."""
    try:
        parsed = sa.engine.make_url(url)
        parsed = parsed.set(drivername=DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername))
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"database URL {mask_url(url)!r} is not usable: {exc}. Install the driver "
                          "extra (pip install 'forms-sync[postgresql]' or '[mysql]').") from None
    except ModuleNotFoundError as exc:
        raise ConfigError(f"database driver missing for {mask_url(url)}: {exc.name}. Install "
                          "'forms-sync[postgresql]' or 'forms-sync[mysql]'.") from None
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as exc:  # unreachable, refused, or (SQLite) not a database at all
        raise UnreadableSource(f"cannot connect to the database {mask_url(url)}: {error_line(exc)}"
                               f"{_sqlite_advice(engine, exc)}") from None
    return engine


def _sqlite_advice(engine: sa.Engine, exc: BaseException) -> str:
    """What to do about an SQLite file that cannot be opened or written, from SQLite's error code."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return ""
    path = Path(engine.url.database).resolve()
    code = getattr(getattr(exc, "orig", None), "sqlite_errorname", "")  # SQLITE_FULL, SQLITE_READONLY_...
    if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return (f". {path} is not an SQLite database, or it is damaged: restore it from a backup, or "
                "point `database` in the config to a new file (forms-sync never overwrites it)")
    if code.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")):
        folder = path.parent
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return (f". forms-sync needs to write {path} and its -wal and -shm files beside it, in "
                    f"{folder}: choose a folder you may write to, or fix its permissions")
    if code == "SQLITE_FULL":
        scratch = Path(os.environ.get("SQLITE_TMPDIR") or tempfile.gettempdir())
        return (f" (the database's folder {path.parent} has {free_space(path.parent)}; the temporary folder "
                f"SQLite sorts in, {scratch}, has {free_space(scratch)}): free space where it is short, or point "
                "TMPDIR (or SQLITE_TMPDIR) to a folder with room")
    return ""


def free_space(folder: Path) -> str:
    """The room left in a folder's file system, for messages about a full disk."""
    try:
        return f"{shutil.disk_usage(folder).free / 1e6:,.0f} MB free"
    except OSError:
        return "an unknown amount free"


def _sqlite_transactions(engine: sa.Engine) -> None:
    """Real transactions on SQLite: the driver's own handling leaves DDL outside them, so we emit
    BEGIN ourselves (SQLAlchemy's documented recipe). Plus durable, reader-friendly WAL, and a
    page cache big enough to hold the indexes a large sync inserts into (SQLite's default is 2 MB)."""
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")


@contextmanager
def translate_errors(engine: sa.Engine | None = None):
    """Database errors as one clear line (DatabaseError, exit 3) instead of a driver traceback."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        advice = _sqlite_advice(engine, exc) if engine is not None else ""
        raise DatabaseError(f"database error: {error_line(exc)}{advice}") from None


def error_line(exc: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's statement dump."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def mask_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid URL>"


def ensure_base(engine: sa.Engine) -> None:
    T.metadata.create_all(engine)


def ensure_form_tables(conn: sa.Connection, definition: FormDefinition) -> tuple[sa.Table, sa.Table]:
    """Create or extend a form's tables and its long view. New fields add columns; removed, renamed
    or retyped fields are refused with a pointer to `forms-sync migrate`, so no data is dropped by
    accident."""
    md = sa.MetaData()
    table, rejected = T.form_table(definition, md), T.rejected_table(definition, md)
    wanted = T.field_types(definition)
    have = registered_columns(conn, definition.id)
    insp = sa.inspect(conn)
    if have is not None and insp.has_table(definition.id):
        gone = [n for n in have if n not in wanted]
        retyped = [n for n in have if n in wanted and wanted[n] != have[n]]
        if gone or retyped:
            what = "; ".join([*(f"field {n!r} was removed or renamed" for n in gone),
                              *(f"field {n!r} changed type {have[n]} -> {wanted[n]}" for n in retyped)])
            rename = " (with --rename OLD=NEW for a renamed field)" if gone and set(wanted) - set(have) else ""
            raise SchemaChangeRefused(
                f"form {definition.id}: the definition no longer matches the table ({what}). Nothing "
                f"was synced for it. Run `forms-sync migrate {definition.id}`{rename} to apply the change "
                "and keep the old data; --dry-run shows what it would do.")
        existing = {c["name"] for c in insp.get_columns(definition.id)}
        for name in wanted:
            if name not in existing:
                add_column(conn, definition.id, table.c[name])
    md.create_all(conn)
    if have != wanted or T.long_view_name(definition) not in sa.inspect(conn).get_view_names():
        replace_long_view(conn, definition)
    register_form(conn, definition, wanted)
    return table, rejected


def registered_columns(conn: sa.Connection, form: str) -> dict[str, str] | None:
    """{field: type} as the form's table was last made, or None for a form never synced."""
    row = conn.execute(sa.select(T.forms_registry.c.columns).where(T.forms_registry.c.form == form)).first()
    return json.loads(row[0]) if row else None


def register_form(conn: sa.Connection, definition: FormDefinition, columns: dict[str, str]) -> None:
    record = {"form": definition.id, "version": definition.version, "content_hash": definition.content_hash,
              "columns": json.dumps(columns), "updated_at": utcnow()}
    upsert(conn, T.forms_registry, pd.DataFrame([record]), ["form"])


def add_column(conn: sa.Connection, table_name: str, column: sa.Column) -> None:
    ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {quote(conn, table_name)} ADD COLUMN {ddl}")


def drop_long_view(conn: sa.Connection, definition: FormDefinition) -> None:
    conn.exec_driver_sql(f"DROP VIEW IF EXISTS {quote(conn, T.long_view_name(definition))}")


def replace_long_view(conn: sa.Connection, definition: FormDefinition) -> None:
    """(Re)create `<form>__long` for the definition's current fields."""
    drop_long_view(conn, definition)
    conn.exec_driver_sql(f"CREATE VIEW {quote(conn, T.long_view_name(definition))} (region, period, field, value) AS\n"
                         + T.long_view_select(definition, conn.dialect))


def quote(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, order: list[str] | None = None) -> int:
    """Append rows: COPY on PostgreSQL, executemany on SQLite (large frames: sqlite_stage),
    multi-row INSERTs on MySQL. `order`: columns to write the rows sorted by (an index's key:
    inserted in its order, its pages are written once instead of again and again)."""
    csv = _arrow_rows(conn, table, frame)
    if csv is not None:
        _copy_csv(conn, table.name, _sorted(csv, order))
        return csv.num_rows
    staged = sqlite_stage.arrow_rows(conn, table, frame) if sqlite_stage.usable(conn, len(frame)) else None
    if staged is not None:
        sqlite_stage.insert(conn, table.name, _sorted(staged, order))
        return staged.num_rows
    if order:
        frame = frame.sort_values(order)
    columns, values = _columns(conn, table, frame)
    rows = list(zip(*values))
    if not rows:
        return 0
    if _has_copy(conn):
        _copy(conn, table.name, columns, rows)
    elif conn.dialect.name == "sqlite":
        _executemany(conn, f"INSERT INTO {quote(conn, table.name)} {_column_list(conn, columns)} "
                           f"VALUES {_placeholders(conn, columns)}", rows)
    elif conn.dialect.name in ("mysql", "mariadb"):
        _insert_values(conn, f"INSERT INTO {quote(conn, table.name)} {_column_list(conn, columns)} VALUES ", values)
    else:
        conn.execute(table.insert(), [dict(zip(columns, r)) for r in rows])
    return len(rows)


def insert_later(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, order: list[str] | None = None,
                 *, pool: ThreadPoolExecutor) -> Callable[[], int]:
    """insert(), in two steps: what needs no database connection (on SQLite, sorting the rows and
    binding them into the stage image) starts now in `pool`; the returned function waits for it
    and writes the rows on `conn`. Meanwhile the caller may write other tables on `conn`."""
    staged = sqlite_stage.arrow_rows(conn, table, frame) if sqlite_stage.usable(conn, len(frame)) else None
    if staged is None:
        return lambda: insert(conn, table, frame, order)
    image = pool.submit(lambda: sqlite_stage.image(_sorted(staged, order)))

    def write() -> int:
        sqlite_stage.copy_image(conn, table.name, staged.column_names, image.result())
        return staged.num_rows
    return write


def _sorted(data: pa.Table, order: list[str] | None) -> pa.Table:
    return data.sort_by([(c, "ascending") for c in order]) if order else data


def insert_repeated(conn: sa.Connection, table: sa.Table, fixed: dict, column: str, values: list[str]) -> int:
    """Append one row per text in `values` (as `column`), the other columns as in `fixed` (text or
    None; any column not named stays NULL). The database expands the list itself: SQLite from one
    JSON array (json_each), PostgreSQL from one text[] (unnest); elsewhere this is insert()."""
    if not values:
        return 0
    name = conn.dialect.name
    if any(v is not None and not isinstance(v, str) for v in fixed.values()) or not (
            (name == "sqlite" and sqlite3.sqlite_version_info >= (3, 38)) or name == "postgresql"):
        return insert(conn, table, pd.DataFrame({**{k: [v] * len(values) for k, v in fixed.items()},
                                                 column: values}))
    names = list(fixed) + [column]
    params = {f"p{i}": v for i, v in enumerate(fixed.values())}
    selected = ", ".join(f":p{i}" for i in range(len(fixed)))
    head = f"INSERT INTO {quote(conn, table.name)} {_column_list(conn, names)} SELECT {selected}{', ' if fixed else ''}"
    if name == "sqlite":
        sql = head + "value FROM json_each(:values)"
        params["values"] = json.dumps(values, ensure_ascii=False)
    else:
        sql = head + "v FROM unnest(CAST(:values AS text[])) AS v"
        params["values"] = list(values)
    conn.execute(sa.text(sql), params)
    return len(values)


def upsert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, keys: list[str]) -> int:
    """Insert or replace by `keys`; where the frame repeats a key its last row wins.

    PostgreSQL refuses a statement that touches one key twice, so the frame is de-duplicated
    first. Large batches go COPY -> temporary staging table -> one INSERT ... ON CONFLICT."""
    frame = frame.drop_duplicates(subset=keys, keep="last")
    csv = _arrow_rows(conn, table, frame)
    if csv is not None:
        columns, values, rows = csv.column_names, [], range(csv.num_rows)  # rows: only counted here
    else:
        columns, values = _columns(conn, table, frame)
        rows = list(zip(*values))
    if not rows:
        return 0
    updates = [c for c in columns if c not in keys]
    name = conn.dialect.name
    target, cols = quote(conn, table.name), _column_list(conn, columns)
    if name in ("sqlite", "postgresql"):
        conflict = (f"ON CONFLICT {_column_list(conn, keys)} DO "
                    + (f"UPDATE SET {', '.join(f'{quote(conn, c)} = excluded.{quote(conn, c)}' for c in updates)}"
                       if updates else "NOTHING"))
        if _has_copy(conn) and len(rows) >= COPY_MIN_ROWS:
            stage = quote(conn, f"_stage_{table.name}"[:63])
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP")
            if csv is not None:
                _copy_csv(conn, f"_stage_{table.name}"[:63], csv)
            else:
                _copy(conn, f"_stage_{table.name}"[:63], columns, rows)
            conn.exec_driver_sql(f"INSERT INTO {target} {cols} SELECT {cols[1:-1]} FROM {stage} {conflict}")
            conn.exec_driver_sql(f"DROP TABLE {stage}")
        else:
            _executemany(conn, f"INSERT INTO {target} {cols} VALUES {_placeholders(conn, columns)} {conflict}", rows)
    elif name in ("mysql", "mariadb"):
        sets = ", ".join(f"{quote(conn, c)} = VALUES({quote(conn, c)})" for c in (updates or keys[:1]))
        _insert_values(conn, f"INSERT INTO {target} {cols} VALUES ", values, f" ON DUPLICATE KEY UPDATE {sets}")
    else:  # any other database: delete then insert, inside the caller's transaction
        records = [dict(zip(columns, r)) for r in rows]
        for i in range(0, len(records), CHUNK):
            part = records[i:i + CHUNK]
            conn.execute(table.delete().where(sa.or_(*[sa.and_(*[table.c[k] == r[k] for k in keys]) for r in part])))
            conn.execute(table.insert(), part)
    return len(rows)


def _columns(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> tuple[list[str], list[list]]:
    """The frame's columns as lists of DB-API values, converted a column at a time: NA -> None,
    numpy -> Python, and, for the driver paths, through the column's SQLAlchemy type as SQLAlchemy
    would (so SQLite gets the same text dates). zip(*values) gives the rows."""
    columns = [c for c in frame.columns if c in table.c]
    if frame.empty:
        return columns, []
    values = []
    raw = conn.dialect.name in RAW_DIALECTS
    for name in columns:
        bind = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) if raw else None
        if bind is not None and conn.dialect.name == "sqlite":
            column = _sqlite_values(frame[name], bind)
            if column is not None:
                values.append(column)
                continue
        column = _python_values(frame[name])
        if bind is not None and frame[name].nunique() * 4 < len(frame):  # dates, flags: few distinct
            memo = {v: bind(v) for v in set(column)}
            column = [memo[v] for v in column]
        elif bind is not None:
            column = [bind(v) for v in column]
        values.append(column)
    return columns, values


def _sqlite_values(series: pd.Series, bind) -> list | None:
    """What `bind` gives SQLite for a whole float or timestamp column, computed without a Python
    call per value; None for any other column (or when a sample disagrees with `bind`)."""
    dtype = series.dtype
    if pd.api.types.is_float_dtype(dtype):
        if bind(0.5) != 0.5 or type(bind(0.5)) is not float:
            return None
        return _python_values(series)  # Python floats (None for missing) already: to_float is identity
    if not pd.api.types.is_datetime64_any_dtype(dtype):
        return None
    if isinstance(dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = series.to_numpy(dtype="datetime64[us]")
    missing = np.isnat(stamps)
    if missing.all():
        return [None] * len(stamps)
    present = stamps[~missing]
    if present.min() < np.datetime64("0001-01-01") or present.max() >= np.datetime64("10000-01-01"):
        return None  # a year Python's datetime cannot hold either
    text = np.datetime_as_string(stamps, unit="us").astype("<U26")  # 2026-12-03T09:15:02.123456
    text.view(np.uint32).reshape(len(text), 26)[:, 10] = ord(" ")
    out = text.tolist()
    for i in np.flatnonzero(missing):
        out[i] = None
    first = int(np.flatnonzero(~missing)[0])
    if bind(stamps[first].item()) != out[first]:
        return None  # not SQLAlchemy's default storage format
    return out


def _python_values(series: pd.Series) -> list:
    """Plain Python scalars for one column, None for every kind of missing. numpy's tolist() is
    the fast way from numpy values to Python objects, so typed columns go through it."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = series.isna().to_numpy()
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        out = series.to_numpy(dtype=bool, na_value=False).tolist()
    elif pd.api.types.is_integer_dtype(dtype):
        out = series.to_numpy(dtype="int64", na_value=0).tolist()
    elif pd.api.types.is_float_dtype(dtype):
        out = series.to_numpy(dtype="float64", na_value=np.nan).tolist()
    elif pd.api.types.is_datetime64_dtype(dtype):
        out = series.to_numpy(dtype="datetime64[us]").tolist()  # datetime.datetime objects
    elif isinstance(dtype, pd.StringDtype):
        out = series.to_numpy(dtype=object, na_value=None).tolist()
    else:
        out = series.to_numpy(dtype=object).tolist()
        # text, dates: plain Python values already (infer_dtype looks at each in C, not here)
        if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty", "date", "bytes"):
            _plain(out)
    for i in np.flatnonzero(missing):
        out[i] = None
    return out


def _plain(out: list) -> None:
    """Timestamps -> datetime, numpy scalars -> Python, in place."""
    for i, v in enumerate(out):
        if isinstance(v, pd.Timestamp):
            out[i] = v.to_pydatetime()
        elif isinstance(v, np.generic):
            out[i] = v.item()


def _has_copy(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def _copy(conn: sa.Connection, table_name: str, columns: list[str], rows: list[tuple]) -> None:
    """PostgreSQL COPY FROM STDIN on the connection's open transaction (psycopg 3)."""
    with _dbapi_cursor(conn) as cur:
        with cur.copy(f"COPY {quote(conn, table_name)} {_column_list(conn, columns)} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _copy_csv(conn: sa.Connection, table_name: str, data: pa.Table) -> None:
    """COPY ... (FORMAT csv) of an Arrow table from _arrow_rows, rendered by Arrow's CSV writer in
    blocks of COPY_BLOCK rows (float columns to NUMERIC text here, see _numeric_text). Every valid
    value is quoted, so an empty string stays an empty string; a null is an unquoted empty field,
    which is NULL. A writer thread sends each block while the next one is rendered."""
    import pyarrow as pa
    from psycopg.copy import QueuedLibpqWriter
    from pyarrow import csv
    options = csv.WriteOptions(include_header=False, quoting_style="all_valid")
    floats = [i for i, t in enumerate(data.schema.types) if pa.types.is_floating(t)]
    sql = (f"COPY {quote(conn, table_name)} {_column_list(conn, data.column_names)} FROM STDIN "
           "(FORMAT csv, ENCODING 'UTF8')")
    with _dbapi_cursor(conn) as cur, cur.copy(sql, writer=QueuedLibpqWriter(cur)) as copy:
        for start in range(0, data.num_rows, COPY_BLOCK):
            block = data.slice(start, COPY_BLOCK)
            for i in floats:
                block = block.set_column(i, block.field(i).name, _numeric_text(block.column(i)))
            sink = pa.BufferOutputStream()
            csv.write_csv(block, sink, options)
            copy.write(memoryview(sink.getvalue()))


def _arrow_rows(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> pa.Table | None:
    """The frame as a pyarrow Table for _copy_csv, or None to keep the per-row COPY: not
    PostgreSQL/psycopg, under COPY_MIN_ROWS rows, or a column _arrow_column cannot vouch for."""
    columns = [c for c in frame.columns if c in table.c]
    if not (_has_copy(conn) and columns and len(frame) >= COPY_MIN_ROWS):
        return None
    import pyarrow as pa
    arrays = []
    for name in columns:
        sql_type = table.c[name].type
        if sql_type.dialect_impl(conn.dialect).bind_processor(conn.dialect) and not isinstance(sql_type, sa.Boolean):
            return None  # a type that converts values first: not one _arrow_column knows
        try:
            array = _arrow_column(frame[name], sql_type)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):  # let the old path say what is wrong
            array = None
        if array is None:
            return None
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=columns)


def _arrow_column(series: pd.Series, sql_type: sa.types.TypeEngine) -> pa.Array | None:
    """One column as Arrow values whose CSV text PostgreSQL stores exactly as it stores what
    psycopg's write_row sends for the same values (the old path: _python_values, then str() of each
    value, repr() for floats); None where that is not certain. The numpy conversions are those of
    _python_values, so both paths start from the same values."""
    import pyarrow as pa
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = series.isna().to_numpy()
    dtype = series.dtype
    if missing.all():
        return pa.nulls(len(series))
    boolean = isinstance(sql_type, sa.Boolean)  # its bind processor accepts only True/False/0/1/None
    if pd.api.types.is_bool_dtype(dtype):
        # "true"/"false" where psycopg sends "t"/"f": the same only for a boolean column
        return pa.array(series.to_numpy(dtype=bool, na_value=False), mask=missing) if boolean else None
    if boolean:
        return None
    if pd.api.types.is_integer_dtype(dtype):
        return pa.array(series.to_numpy(dtype="int64", na_value=0), mask=missing)
    if pd.api.types.is_float_dtype(dtype):
        if not isinstance(sql_type, sa.Numeric) or isinstance(sql_type, sa.Float):
            return None
        return pa.array(series.to_numpy(dtype="float64", na_value=np.nan), mask=missing)  # _numeric_text
    if pd.api.types.is_datetime64_dtype(dtype):
        stamps = series.to_numpy(dtype="datetime64[us]")
        present = stamps[~missing]
        if not isinstance(sql_type, sa.DateTime) or (
                present.min() < np.datetime64("0001-01-01") or present.max() >= np.datetime64("10000-01-01")):
            return None  # Python's datetime cannot hold the year: the old path fails or stores a number
        return pa.array(stamps, mask=missing)
    if isinstance(dtype, pd.StringDtype):
        return pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string())
    if dtype != object:
        return None
    values = series.to_numpy(dtype=object).copy()
    values[missing] = None
    kinds = set(map(type, values[~missing]))  # exact types: no subclasses (datetime is a date)
    arrow_type = {str: pa.string(), dt.date: pa.date32(), int: pa.int64()}.get(kinds.pop()) if len(kinds) == 1 else None
    return None if arrow_type is None else pa.array(values, type=arrow_type)


def _numeric_text(floats: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Floats for a NUMERIC column, as text it reads as the decimal repr() gives (what psycopg
    sends), digits and scale alike. Arrow writes the same shortest round-trip digits as repr(),
    in another layout (`1e-7`, `0.00001`, `1e+15`) that NUMERIC reads as the same decimal with the
    same scale, except for whole numbers: repr() gives `3.0` below 1e16, stored as 3.0 (scale 1),
    where `3` would be stored as 3; those are written as integers plus `.0` here."""
    import pyarrow as pa
    import pyarrow.compute as pc
    text = pc.cast(floats, pa.string())
    values = floats.to_numpy(zero_copy_only=False)  # nulls as NaN
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (np.trunc(values) == values) & (np.abs(values) < 1e16)
    if whole.any():
        ints = pc.cast(pa.array(np.where(whole, values, 0).astype(np.int64)), pa.string())
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(ints, ".0", ""), text)
    return text


def _executemany(conn: sa.Connection, sql: str, rows: list[tuple]) -> None:
    """One executemany per BATCH on the raw driver (SQLite; PostgreSQL for small batches)."""
    with _dbapi_cursor(conn) as cur:
        for i in range(0, len(rows), BATCH):
            cur.executemany(sql, rows[i:i + BATCH])


def _insert_values(conn: sa.Connection, head: str, values: list[list], tail: str = "") -> None:
    """MySQL/MariaDB: multi-row INSERT statements of about STATEMENT_BYTES, the values written as
    SQL literals here, a column at a time. PyMySQL's executemany does the same, but through several
    Python calls per value. Strings and anything unusual still go through the driver's own escape()
    (it knows the server's NO_BACKSLASH_ESCAPES mode). Other MySQL drivers: plain executemany."""
    if conn.dialect.driver != "pymysql":
        _executemany(conn, head + _placeholders(conn, values) + tail, list(zip(*values)))
        return
    escape = conn.connection.driver_connection.escape
    plain = {bool: lambda v: "1" if v else "0", int: str, float: repr, Decimal: str,
             dt.date: lambda v: f"'{v.isoformat()}'", dt.datetime: lambda v: f"'{v.isoformat(' ')}'"}
    literals = []
    for column in values:
        kinds = set(map(type, column)) - {type(None)}
        write = plain.get(kinds.pop(), escape) if len(kinds) == 1 else escape
        distinct = set(column)
        if len(distinct) * 4 < len(column):  # codes, periods, statuses: write each once
            memo = {v: "NULL" if v is None else write(v) for v in distinct}
            literals.append([memo[v] for v in column])
        else:
            literals.append(["NULL" if v is None else write(v) for v in column])
    with _dbapi_cursor(conn) as cur:
        batch, size = [], 0
        for row in zip(*literals):
            text = "(" + ",".join(row) + ")"
            if batch and size + len(text) > STATEMENT_BYTES:
                cur.execute(head + ",".join(batch) + tail)
                batch, size = [], 0
            batch.append(text)
            size += len(text) + 1
        if batch:
            cur.execute(head + ",".join(batch) + tail)


@contextmanager
def _dbapi_cursor(conn: sa.Connection):
    """A driver cursor inside the SQLAlchemy connection's transaction (begun if need be)."""
    if not conn.in_transaction():
        conn.begin()
    cur = conn.connection.driver_connection.cursor()
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield cur
    except dbapi_error as exc:  # wrapped as SQLAlchemy would, so callers see one kind of error
        raise sa.exc.DBAPIError.instance(None, None, exc, dbapi_error) from exc
    finally:
        cur.close()


def _column_list(conn: sa.Connection, columns: list[str]) -> str:
    return "(" + ", ".join(quote(conn, c) for c in columns) + ")"


def _placeholders(conn: sa.Connection, columns: list[str]) -> str:
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    return "(" + ", ".join([mark] * len(columns)) + ")"


def naive_utc(series: pd.Series) -> pd.Series:
    """tz-aware UTC timestamps -> naive UTC datetimes (NaT stays)."""
    s = pd.to_datetime(series, utc=True)
    return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


def load_regions(conn: sa.Connection) -> None:
    """Fill the `regions` dimension once (and again when the shipped reference changes)."""
    from forms_sync.reference.regions import ALL_LEVELS, load
    reference = load()
    have = conn.execute(sa.select(sa.func.count()).select_from(T.regions)).scalar_one()
    if have == sum(len(reference.codes_for_level(level)) for level in ALL_LEVELS):
        return  # (the table itself is built only when it must be written: a third of a second)
    conn.execute(T.regions.delete())
    insert(conn, T.regions, reference.dimension_table())


def analyze(conn: sa.Connection, *tables: sa.Table) -> None:
    """Refresh PostgreSQL's planner statistics of tables that just grew inside the transaction: with
    the sizes of an empty table it picks a scan of the whole form for a look-up of a few ids (0.8 s
    each, instead of 10 ms). SQLite and MySQL plan these look-ups well without."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE " + ", ".join(quote(conn, t.name) for t in tables))


def rows_matching(conn: sa.Connection, table: sa.Table, keys: pd.DataFrame, columns: list[str], *where) -> pd.DataFrame:
    """`columns` of the rows of `table` whose values in the columns of `keys` equal one row of `keys`.

    The keys go to a temporary table that one query reads through `table`'s index: an IN list per
    few thousand keys costs a compiled statement and a round trip each."""
    keys = keys.drop_duplicates()
    temp = sa.Table("_match_" + "_".join(keys.columns)[:50],  # one per key shape
                    sa.MetaData(), *[sa.Column(c, table.c[c].type) for c in keys.columns],
                    prefixes=["TEMPORARY"], **T.MYSQL_OPTIONS)
    # `IN (SELECT ...)`, not a join: SQLite then probes `table`'s index once per key, where a join
    # may scan `table` for the `where` terms instead
    matched = sa.tuple_(*[table.c[c] for c in keys.columns]) if len(keys.columns) > 1 else table.c[keys.columns[0]]
    query = sa.select(*[table.c[c] for c in columns]).where(matched.in_(sa.select(*temp.c)), *where)
    if keys.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    conn.execute(sa.schema.CreateTable(temp, if_not_exists=True))
    conn.execute(temp.delete())
    insert(conn, temp, keys)
    return pd.read_sql(query, conn)
