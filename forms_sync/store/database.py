"""Opening the database, keeping tables in step with definitions, and set-wise writes.

Any SQLAlchemy URL works; SQLite is the default. Writes are per-dialect upserts keyed on the
primary key; a batch never touches one key twice (PostgreSQL refuses that), the caller
de-duplicates first.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from forms_sync.definition.model import FormDefinition
from forms_sync.errors import ConfigError, SchemaChangeRefused, UnreadableSource
from forms_sync.store import tables as T

CHUNK = 5_000


def utcnow() -> dt.datetime:
    """Naive UTC, as every time is stored."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def open_engine(url: str) -> sa.Engine:
    """An engine for any SQLAlchemy URL, with one clear line when the database can't be reached."""
    try:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, future=True, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"database URL {mask_url(url)!r} is not usable: {exc}. Install the driver "
                          "extra (pip install 'forms-sync[postgresql]' or '[mysql]').") from None
    except ModuleNotFoundError as exc:
        raise ConfigError(f"database driver missing for {mask_url(url)}: {exc.name}. Install "
                          "'forms-sync[postgresql]' or 'forms-sync[mysql]'.") from None
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _):  # durable and concurrent-reader friendly
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        raise UnreadableSource(f"cannot connect to the database {mask_url(url)}: "
                               f"{str(exc.orig).strip().splitlines()[0]}") from None
    return engine


def mask_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid URL>"


def ensure_base(engine: sa.Engine) -> None:
    T.metadata.create_all(engine)


def ensure_form_tables(conn: sa.Connection, definition: FormDefinition) -> tuple[sa.Table, sa.Table]:
    """Create or extend a form's tables. New fields add columns; removed/renamed/retyped fields are
    refused with a pointer to `forms-sync migrate`, so no data is dropped by accident."""
    md = sa.MetaData()
    table, rejected = T.form_table(definition, md), T.rejected_table(definition, md)
    wanted = T.field_types(definition)
    row = conn.execute(sa.select(T.forms_registry.c.columns).where(T.forms_registry.c.form == definition.id)).first()
    insp = sa.inspect(conn)
    if row is not None and insp.has_table(definition.id):
        have = json.loads(row[0])
        gone = [n for n in have if n not in wanted]
        retyped = [n for n in have if n in wanted and wanted[n] != have[n]]
        if gone or retyped:
            what = "; ".join([*(f"field {n!r} was removed or renamed" for n in gone),
                              *(f"field {n!r} changed type {have[n]} -> {wanted[n]}" for n in retyped)])
            raise SchemaChangeRefused(
                f"form {definition.id}: the definition no longer matches the table ({what}). Nothing "
                f"was synced for it. Run `forms-sync migrate {definition.id}` to apply the change "
                "and keep the old data.")
        existing = {c["name"] for c in insp.get_columns(definition.id)}
        for name in wanted:
            if name not in existing:
                col = table.c[name]
                ddl = sa.schema.CreateColumn(col).compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {_q(conn, definition.id)} ADD COLUMN {ddl}"))
    md.create_all(conn)
    record = {"form": definition.id, "version": definition.version, "content_hash": definition.content_hash,
              "columns": json.dumps(wanted), "updated_at": utcnow()}
    upsert(conn, T.forms_registry, pd.DataFrame([record]), ["form"])
    return table, rejected


def _q(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def records(frame: pd.DataFrame) -> list[dict]:
    """Plain Python values for the DB-API: NA -> None, numpy scalars -> Python scalars."""
    if frame.empty:
        return []
    out = frame.astype(object).where(frame.notna(), None)
    return out.to_dict("records")


def insert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> int:
    rows = records(frame)
    for i in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[i:i + CHUNK])
    return len(rows)


def upsert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, keys: list[str]) -> int:
    """Insert or replace by primary key, per dialect. `frame` must not repeat a key."""
    rows = records(frame)
    if not rows:
        return 0
    name = conn.dialect.name
    cols = [c for c in frame.columns if c not in keys]
    if name in ("sqlite", "postgresql"):
        mod = __import__(f"sqlalchemy.dialects.{name}", fromlist=["insert"])
        stmt = mod.insert(table)
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in cols}) \
            if cols else stmt.on_conflict_do_nothing(index_elements=keys)
    elif name in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as my_insert
        stmt = my_insert(table)
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in (cols or keys[:1])})
    else:  # any other database: delete then insert, inside the caller's transaction
        for i in range(0, len(rows), CHUNK):
            part = rows[i:i + CHUNK]
            cond = sa.or_(*[sa.and_(*[table.c[k] == r[k] for k in keys]) for r in part])
            conn.execute(table.delete().where(cond))
            conn.execute(table.insert(), part)
        return len(rows)
    for i in range(0, len(rows), CHUNK):
        conn.execute(stmt, rows[i:i + CHUNK])
    return len(rows)


def naive_utc(series: pd.Series) -> pd.Series:
    """tz-aware UTC timestamps -> naive UTC datetimes (NaT stays)."""
    s = pd.to_datetime(series, utc=True)
    return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")


def load_regions(conn: sa.Connection) -> None:
    """Fill the `regions` dimension once (and again when the shipped reference changes)."""
    from forms_sync.reference.regions import load
    dim = load().dimension_table()
    have = conn.execute(sa.select(sa.func.count()).select_from(T.regions)).scalar_one()
    if have == len(dim):
        return
    conn.execute(T.regions.delete())
    insert(conn, T.regions, dim.replace({np.nan: None}))
