"""store/database.py on SQLite, PostgreSQL and MariaDB: bulk writes keep every value exactly, upserts
de-duplicate and replace, the raw driver paths stay inside the caller's transaction, and the table
layout follows the definition (new fields add columns, other changes are refused)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from db_servers import database_url  # noqa: F401  (fixture)
from forms_sync.definition.model import parse_definition
from forms_sync.errors import DatabaseError, SchemaChangeRefused
from forms_sync.store import database as db
from forms_sync.store import tables as T

DEFINITION = {
    "id": "uji_tipe", "version": 1, "title": "Uji", "respondent": "regency", "period": "monthly",
    "fields": [
        {"name": "bulat", "label": "Bulat", "type": "integer", "required": False},
        {"name": "angka", "label": "Angka", "type": "number", "required": False},
        {"name": "teks", "label": "Teks", "type": "text", "required": False},
        {"name": "pilih", "label": "Pilih", "type": "choice", "choices": ["A", "B"], "required": False},
        {"name": "banyak", "label": "Banyak", "type": "multi_choice", "choices": ["A, b", "C"], "required": False},
        {"name": "tanggal", "label": "Tanggal", "type": "date", "required": False},
        {"name": "ya", "label": "Ya", "type": "boolean", "required": False},
    ],
}
TEXTS = ["O'Brien \\ back", "tab\tand\nnewline\r\n", "emoji 🌧️", "=SUM(A1)", "\\N", "NULL", "", "x" * 70_000, "日本語"]
WHEN = dt.datetime(2026, 12, 3, 9, 15, 2, 123456)


def definition(**changes):
    raw = {**DEFINITION, **changes}
    return parse_definition(raw)


def frame(n: int, offset: int = 0) -> pd.DataFrame:
    """n rows of every type, with missing values in every column."""
    i = pd.RangeIndex(offset, offset + n)
    rows = pd.DataFrame({
        "region": [f"{11 + k % 80}.{k // 80 % 100:02d}" for k in i],
        "period": [f"2026-{1 + k // 8000 % 12:02d}" for k in i],
        "bulat": pd.array([None if k % 9 == 0 else (k * 7919 if k % 5 else -(2**53)) for k in i], dtype="Int64"),
        "angka": pd.array([None if k % 7 == 0 else 0.0001234567890123 if k % 11 == 3 else k + 0.1234567891
                           for k in i], dtype="Float64"),  # up to 15 significant digits, as numbers are read
        "teks": [None if k % 4 == 0 else TEXTS[k % len(TEXTS)] for k in i],
        "pilih": [None if k % 3 == 0 else "AB"[k % 2] for k in i],
        "banyak": [None if k % 2 else '["A, b", "C"]' for k in i],
        "tanggal": [None if k % 6 == 0 else dt.date(2026, 1 + k % 12, 1 + k % 28) for k in i],
        "ya": pd.array([None if k % 5 == 0 else bool(k % 2) for k in i], dtype="boolean"),
        "_submitted_at": pd.Series([None if k % 10 == 0 else WHEN + dt.timedelta(seconds=k) for k in i],
                                   dtype="datetime64[us]"),
        "_submission_id": [f"id{k:08d}" for k in i],
        "_source": "file:uji.csv",
        "_synced_at": dt.datetime(2026, 12, 3, 10, 0, 0),
    })
    return rows


def read_back(engine, d) -> pd.DataFrame:
    table = T.form_table(d)
    with engine.connect() as conn:
        got = pd.read_sql(sa.select(table).order_by(table.c.region, table.c.period), conn)
    return got


def normalised(f: pd.DataFrame) -> list[tuple]:
    """Rows as plain comparable tuples (NA -> None, booleans from 0/1, dates as dates)."""
    out = []
    for rec in f.astype(object).where(f.notna(), None).to_dict("records"):
        rec["ya"] = None if rec["ya"] is None else bool(rec["ya"])
        rec["bulat"] = None if rec["bulat"] is None else int(rec["bulat"])
        for c in ("_submitted_at", "_synced_at"):
            rec[c] = None if rec[c] is None else pd.Timestamp(rec[c]).to_pydatetime()
        if isinstance(rec["tanggal"], (pd.Timestamp, dt.datetime)):
            rec["tanggal"] = rec["tanggal"].date()
        out.append(tuple(rec.values()))
    return sorted(out, key=lambda r: (r[0], r[1]))


@pytest.fixture
def store(database_url):
    engine = db.open_engine(database_url)
    db.ensure_base(engine)
    d = definition()
    with engine.begin() as conn:
        db.ensure_form_tables(conn, d)
    yield engine, d
    engine.dispose()


@pytest.mark.parametrize("n", [50, 1200])  # executemany, and COPY (PostgreSQL) above COPY_MIN_ROWS
def test_insert_and_upsert_keep_every_value(store, n):
    engine, d = store
    table = T.form_table(d)
    rows = frame(n)
    with engine.begin() as conn:
        assert db.insert(conn, table, rows) == n
    assert normalised(read_back(engine, d)) == normalised(rows)

    changed = frame(n)
    changed["bulat"] = changed["bulat"] + 1
    changed["teks"] = "diganti"
    extra = frame(5, offset=n)
    with engine.begin() as conn:
        db.upsert(conn, table, pd.concat([changed, extra], ignore_index=True), ["region", "period"])
    assert normalised(read_back(engine, d)) == normalised(pd.concat([changed, extra], ignore_index=True))


@pytest.mark.parametrize("n", [10, 2000])
def test_upsert_keeps_the_last_of_repeated_keys(store, n):
    engine, d = store
    rows = frame(n)
    twice = rows.copy()
    twice["bulat"] = pd.array(range(n), dtype="Int64")
    with engine.begin() as conn:
        db.upsert(conn, T.form_table(d), pd.concat([rows, twice], ignore_index=True), ["region", "period"])
    got = read_back(engine, d)
    assert len(got) == n and sorted(got["bulat"].astype(int)) == list(range(n))


def test_bulk_writes_roll_back_with_the_transaction(store):
    engine, d = store
    table = T.form_table(d)
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            db.insert(conn, table, frame(3000))
            db.upsert(conn, table, frame(1500, offset=3000), ["region", "period"])
            db.insert(conn, T.rejected_table(d), pd.DataFrame({
                "_submission_id": ["x"], "row": [1], "code": ["type"], "message_id": ["m"], "message_en": ["m"],
                "_source": ["s"], "_synced_at": [WHEN]}))
            raise RuntimeError("crash before commit")
    assert len(read_back(engine, d)) == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.rejected_table(d))).scalar() == 0


def test_insert_repeated_keeps_every_text_and_rolls_back(store):
    """One row per value, the other columns fixed, expanded by the database (json_each / unnest)."""
    engine, _ = store
    c = T.completeness
    regions = [t for t in TEXTS if t and len(t) < 100] + [f"r{k}" for k in range(3000)]
    fixed = {"form": "uji", "period": "2026-01", "status": "missing"}
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            db.insert_repeated(conn, c, fixed, "region", regions)
            raise RuntimeError("crash before commit")
    with engine.begin() as conn:
        assert db.insert_repeated(conn, c, fixed, "region", regions) == len(regions)
        assert db.insert_repeated(conn, c, fixed, "region", []) == 0
    with engine.connect() as conn:
        got = conn.execute(sa.select(c.c.form, c.c.period, c.c.region, c.c.status, c.c.on_time,
                                     c.c._submitted_at)).all()
    assert sorted(got) == sorted(("uji", "2026-01", r, "missing", None, None) for r in regions)


def test_long_view_has_canonical_text(store):
    engine, d = store
    rows = frame(12)
    with engine.begin() as conn:
        db.insert(conn, T.form_table(d), rows)
    with engine.connect() as conn:
        got = pd.read_sql(sa.text("SELECT region, period, field, value FROM uji_tipe__long"), conn)
    assert set(got.columns) == {"region", "period", "field", "value"}
    one = got[got["region"] == "12.00"].set_index("field")["value"].to_dict()  # k = 1
    assert one == {"bulat": "7919", "angka": "1.1234567891", "teks": TEXTS[1], "pilih": "B",
                   "tanggal": "2026-02-02", "ya": "true"}
    two = got[got["region"] == "13.00"].set_index("field")["value"].to_dict()  # k = 2
    assert two["ya"] == "false" and two["banyak"] == '["A, b", "C"]' and "bulat" in two
    three = got[got["region"] == "14.00"].set_index("field")["value"].to_dict()  # k = 3
    assert three["angka"] == "0.0001234567890123"
    assert len(got) == int(rows[[f.name for f in d.fields]].notna().sum().sum())  # missing values leave no row


def test_new_field_adds_a_column_and_keeps_rows(store):
    engine, d = store
    with engine.begin() as conn:
        db.insert(conn, T.form_table(d), frame(20))
    wider = definition(version=2, fields=[*DEFINITION["fields"], {"name": "baru", "label": "Baru", "type": "integer",
                                                                      "required": False}])
    with engine.begin() as conn:
        db.ensure_form_tables(conn, wider)
    got = read_back(engine, wider)
    assert len(got) == 20 and got["baru"].isna().all()
    with engine.connect() as conn:
        fields = set(pd.read_sql(sa.text("SELECT DISTINCT field FROM uji_tipe__long"), conn)["field"])
    assert "bulat" in fields  # the view was rebuilt with the new column


@pytest.mark.parametrize("change, words", [
    ({"fields": DEFINITION["fields"][1:]}, ["'bulat' was removed or renamed"]),
    ({"fields": [{**DEFINITION["fields"][0], "type": "number"}, *DEFINITION["fields"][1:]]},
     ["'bulat' changed type integer -> number"]),
])
def test_removed_or_retyped_field_is_refused_with_migrate_hint(store, change, words):
    engine, d = store
    with pytest.raises(SchemaChangeRefused) as info, engine.begin() as conn:
        db.ensure_form_tables(conn, definition(version=2, **change))
    message = str(info.value)
    assert "forms-sync migrate uji_tipe" in message and "\n" not in message
    for w in words:
        assert w in message


def test_database_errors_are_one_line(store):
    engine, d = store
    with pytest.raises(DatabaseError) as info, db.translate_errors(), engine.begin() as conn:
        db.insert(conn, T.form_table(d), frame(3).assign(_submission_id=None))  # NOT NULL
    assert str(info.value).startswith("database error: ") and "\n" not in str(info.value)


def test_urls_without_a_driver_use_the_extras(database_url):
    url = sa.engine.make_url(database_url)
    plain = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)
    engine = db.open_engine(plain)
    assert engine.dialect.driver in ("pysqlite", "psycopg", "pymysql")
    engine.dispose()


def test_sqlite_column_values_equal_the_bind_processors():
    """The column-at-a-time SQLite values (timestamps as text, floats) are what SQLAlchemy would bind."""
    import numpy as np
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    stamp = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    number = sa.Numeric(asdecimal=False).dialect_impl(dialect).bind_processor(dialect)
    when = pd.Series(np.array(["2026-01-02T03:04:05", "NaT", "1999-12-31T23:59:59.123456", "0999-01-01"],
                              dtype="datetime64[us]"))
    assert db._sqlite_values(when, stamp) == [None if pd.isna(v) else stamp(v.to_pydatetime()) for v in when]
    aware = pd.Series(pd.to_datetime(["2026-01-02 03:04:05+07:00", None], utc=True))
    assert db._sqlite_values(aware, stamp) == ["2026-01-01 20:04:05.000000", None]
    assert db._sqlite_values(pd.Series([None, None], dtype="datetime64[ns]"), stamp) == [None, None]
    assert db._sqlite_values(pd.Series([1.5, None, 3.0], dtype="Float64"), number) == [1.5, None, 3.0]
    assert db._sqlite_values(pd.Series(["a"]), stamp) is None
