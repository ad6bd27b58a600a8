"""PostgreSQL bulk writes rendered as CSV by Arrow (database._copy_csv) store exactly what the per-row
path (psycopg write_row of Python values) stores: every column type the tables use, with awkward
text, floats into NUMERIC (digits and scale), dates, flags, timestamps and every kind of missing
value. Rows are compared as PostgreSQL's own text of each stored value (`col::text`), so a NUMERIC
stored as 3 instead of 3.0 would show."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from db_servers import fresh_database
from forms_sync.errors import DatabaseError
from forms_sync.store import database as db
from forms_sync.store import tables as T

TEXTS = ['say "hi"', "a,b", "line\nbreak", "cr\r\nlf", "tab\there", "back\\slash", " lead", "trail ", "  ",
         "", "\\N", "NULL", "\\.", "a\n\\.\nb", '"', '""', ",", "emoji 🌧️", "日本語", "\\\\", "x" * 70_000]
FLOATS = [0.1, 1234567.5, 1e-7, 1e-5, 1.5e-6, 9.9e-5, 1e-4, 1e15, 1e16, 1.5e16, 9999999999999998.0, 1e22,
          1.2345678901234568e+20, 1.7976931348623157e308, 5e-324, 2.5e-300, -0.0, 0.0, 3.0, -3.0, 100.0,
          1 / 3, -2 / 3, 123456789.12345679, 0.0001234567890123, 1500000.5, 2.0**53, -(2.0**53) + 1]
DAYS = [dt.date(2026, 12, 3), dt.date(1, 1, 1), dt.date(999, 1, 2), dt.date(9999, 12, 31), dt.date(2024, 2, 29)]
STAMPS = ["2026-12-03T09:15:02.123456", "2026-12-03T09:15:02", "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999",
          "1970-01-01T00:00:00.000001", "2026-01-01T00:00:00.5"]


def edge_table(name: str) -> sa.Table:
    """Every column type the tables use (tables.py), keyed like a clean table."""
    return sa.Table(
        name, sa.MetaData(),
        sa.Column("region", T.KEY, primary_key=True), sa.Column("period", T.KEY, primary_key=True),
        sa.Column("big", sa.BigInteger), sa.Column("plain", sa.BigInteger), sa.Column("small", sa.Integer),
        sa.Column("num", T.NUMERIC), sa.Column("num_np", T.NUMERIC), sa.Column("num_int", T.NUMERIC),
        sa.Column("text", T.LONG_TEXT), sa.Column("text_str", sa.Text), sa.Column("short", sa.String(64)),
        sa.Column("day", sa.Date), sa.Column("day_text", sa.Date),
        sa.Column("flag", sa.Boolean), sa.Column("flag_np", sa.Boolean),
        sa.Column("ts", T.TIMESTAMP), sa.Column("ts_ns", T.TIMESTAMP), sa.Column("ts_tz", T.TIMESTAMP),
        sa.Column("scalar_ts", T.TIMESTAMP), sa.Column("empty", sa.Text), sa.Column("empty_num", T.NUMERIC),
    )


def edge_frame(n: int, offset: int = 0) -> pd.DataFrame:
    """n rows cycling through the edge cases, each column with its kinds of missing value."""
    k = np.arange(offset, offset + n)
    pick = lambda values, missing=None: [None if missing is not None and i % missing == 0 else values[i % len(values)]
                                         for i in k]
    stamps = np.array(STAMPS, dtype="datetime64[us]")[k % len(STAMPS)]
    stamps[k % 7 == 0] = np.datetime64("NaT")
    texts = np.array(TEXTS, dtype=object)[k % len(TEXTS)]
    texts[k % 5 == 0] = None
    texts[k % 10 == 1] = np.nan
    texts[k % 10 == 2] = pd.NA
    days = np.array(DAYS + [None, pd.NaT], dtype=object)[k % (len(DAYS) + 2)]
    return pd.DataFrame({
        "region": [f"{11 + i % 80}.{i // 80 % 100:02d}" for i in k],
        "period": [f"2026-{1 + i // 8000 % 12:02d}" for i in k],
        "big": pd.array(pick([-(2**63), 2**63 - 1, 0, 7919, -1], missing=9), dtype="Int64"),
        "plain": k * 1_000_003 - 5,
        "small": pd.array(pick([1, -2**31, 2**31 - 1], missing=4), dtype="Int32"),
        "num": pd.array(pick(FLOATS, missing=11), dtype="Float64"),
        "num_np": np.array(pick(FLOATS + [np.nan, np.inf, -np.inf]), dtype="float64"),
        "num_int": pd.array(pick([0, 5, -(2**63), 10**15], missing=3), dtype="Int64"),
        "text": texts,
        "text_str": pd.array(pick(TEXTS[:-1], missing=6), dtype="string"),
        "short": pd.Series(pick(["a", "", " b ", "c\td"], missing=3), dtype=object),
        "day": days,
        "day_text": pick(["2026-12-03", "0001-01-01"], missing=2),
        "flag": pd.array(pick([True, False], missing=3), dtype="boolean"),
        "flag_np": k % 3 == 0,
        "ts": stamps,
        "ts_ns": pd.Series(np.where(k % 4 == 0, np.datetime64("NaT"),
                                    np.datetime64("2026-12-03T09:15:02.123456789", "ns"))),  # ns cut as before
        "ts_tz": pd.Series(stamps).dt.tz_localize("UTC").dt.tz_convert("Asia/Jakarta"),
        "scalar_ts": dt.datetime(2026, 12, 3, 10, 0, 0, 1),
        "empty": None,
        "empty_num": np.nan,
    })


def stored(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    """Every row as PostgreSQL's text of each value (NULL stays None)."""
    cols = ", ".join(f"{db.quote(conn, c.name)}::text" for c in table.c)
    return conn.exec_driver_sql(f"SELECT {cols} FROM {db.quote(conn, table.name)} ORDER BY 1, 2").all()


@pytest.fixture
def pg(tmp_path):
    with fresh_database("postgresql", tmp_path) as url:
        engine = db.open_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def csv_calls(monkeypatch):
    """How many times the Arrow CSV path ran."""
    calls = []
    real = db._copy_csv
    monkeypatch.setattr(db, "_copy_csv", lambda *a: (calls.append(a[1]), real(*a)))
    return calls


def write_both(engine, monkeypatch, write) -> tuple[list, list]:
    """`write(conn, table)` into one table through the current code and into another with the Arrow
    path switched off (the per-row COPY / executemany); the stored rows of each."""
    out = []
    for name, per_row in (("edge_csv", False), ("edge_rows", True)):
        table = edge_table(name)
        with monkeypatch.context() as mp:
            if per_row:
                mp.setattr(db, "_arrow_rows", lambda *_: None)
            with engine.begin() as conn:
                table.create(conn)
                write(conn, table)
            with engine.connect() as conn:
                out.append(stored(conn, table))
    return out[0], out[1]


@pytest.mark.parametrize("n", [db.COPY_MIN_ROWS - 1, db.COPY_MIN_ROWS, 2_600])
def test_insert_stores_what_the_per_row_path_stores(pg, monkeypatch, csv_calls, n):
    frame = edge_frame(n)
    monkeypatch.setattr(db, "COPY_BLOCK", 1_000)  # several CSV blocks
    new, old = write_both(pg, monkeypatch, lambda conn, table: db.insert(conn, table, frame))
    assert csv_calls == (["edge_csv"] if n >= db.COPY_MIN_ROWS else [])
    assert len(new) == n and new == old
    texts = {r[8] for r in new}
    assert {"", "\\N", "NULL", "\\.", "a\n\\.\nb", " lead", "trail ", "x" * 70_000, None} <= texts
    nums = {r[5] for r in new}
    assert {"0.1", "1234567.5", "3.0", "0.0", "0.0000001", "10000000000000000", None} <= nums


@pytest.mark.parametrize("n", [600, 2_600])
def test_upsert_stores_what_the_per_row_path_stores(pg, monkeypatch, csv_calls, n):
    """Existing rows replaced, new ones added, a repeated key's last row wins: on the staging-table
    path (CSV, at and above COPY_MIN_ROWS) and the executemany path below it alike."""
    first = edge_frame(n)
    again = edge_frame(n, offset=n // 2).iloc[::-1].reset_index(drop=True)  # half the keys exist
    repeated = edge_frame(50, offset=n // 2).assign(text="the last one wins")

    def write(conn, table):
        db.upsert(conn, table, first, ["region", "period"])
        db.upsert(conn, table, pd.concat([again, repeated], ignore_index=True), ["region", "period"])

    new, old = write_both(pg, monkeypatch, write)
    assert len(csv_calls) == (2 if n >= db.COPY_MIN_ROWS else 0)
    assert len(new) == n + n // 2 and new == old
    assert sum(r[8] == "the last one wins" for r in new) == 50


def test_unusual_columns_keep_the_per_row_path(pg, monkeypatch, csv_calls):
    """Columns the Arrow path cannot vouch for send the whole call through write_row."""
    table = edge_table("edge_csv")
    base = edge_frame(db.COPY_MIN_ROWS)
    unusual = {
        "num": [Decimal("1.50")] * len(base),  # Decimal objects keep their own scale
        "text": [1, "a"] * (len(base) // 2),  # mixed types
        "short": 0.5,  # a float into a text column: repr() text
        "flag": pd.array([1, 0] * (len(base) // 2), dtype="Int64"),  # 0/1 into a boolean
        "day": [dt.datetime(2026, 1, 2, 3, 4)] * len(base),  # datetimes (a date subclass) into a date
        "ts": pd.Series([pd.Timestamp("2026-01-02")] * len(base), dtype=object),
    }
    with pg.connect() as conn:
        assert db._arrow_rows(conn, table, base) is not None
        for column, values in unusual.items():
            assert db._arrow_rows(conn, table, base.assign(**{column: values})) is None, column
    frame = base.assign(num=unusual["num"])
    new, old = write_both(pg, monkeypatch, lambda conn, table: db.insert(conn, table, frame))
    assert csv_calls == [] and new == old and {r[5] for r in new} == {"1.50"}


def test_csv_path_errors_are_one_line_and_roll_back(pg, csv_calls):
    table = edge_table("edge_csv")
    frame = edge_frame(db.COPY_MIN_ROWS)
    with pg.begin() as conn:
        table.create(conn)
    with pytest.raises(DatabaseError) as info, db.translate_errors(), pg.begin() as conn:
        db.insert(conn, table, frame)
        db.insert(conn, table, frame.tail(db.COPY_MIN_ROWS // 2).pipe(lambda f: pd.concat([f, f])))  # keys twice
    assert csv_calls == ["edge_csv", "edge_csv"]
    assert "duplicate key" in str(info.value) and "\n" not in str(info.value)
    with pg.connect() as conn:
        assert stored(conn, table) == []


def test_numeric_text_reads_as_the_decimal_repr_gives():
    """Same value and same NUMERIC scale as repr() for random doubles of every magnitude, random
    short decimals, whole numbers and the edge values."""
    import pyarrow as pa

    rng = np.random.default_rng(2026)
    bits = rng.integers(0, 2**63, 100_000, dtype=np.int64).view(np.float64)
    decimals = (np.round(rng.random(100_000) * 10.0 ** rng.integers(0, 16, 100_000))
                / 10.0 ** rng.integers(0, 12, 100_000))
    wholes = np.floor(rng.random(20_000) * 10.0 ** rng.integers(0, 20, 20_000))
    values = np.concatenate([bits, -bits[:1000], decimals, wholes, FLOATS, [np.inf, -np.inf, np.nan]])
    values = values[np.isfinite(values) | ~np.isnan(values)]
    got = db._numeric_text(pa.array(values)).to_pylist()

    def numeric(text):  # what NUMERIC stores: the decimal value and the scale (digits after the point)
        d = Decimal(text)
        return (d, max(0, -d.as_tuple().exponent)) if d.is_finite() else (str(d), 0)

    wrong = [(v, g) for v, g in zip(values.tolist(), got) if numeric(g) != numeric(repr(v))]
    assert not wrong, wrong[:5]
    assert db._numeric_text(pa.array([1.5, None, 3.0])).to_pylist() == ["1.5", None, "3.0"]
