"""status.update_completeness on SQLite and PostgreSQL builds the rows in the database (one
INSERT ... SELECT per period); they must be the very rows the Python path (`_build` + `_write`,
kept for MariaDB/MySQL) writes, down to the stored types: on_time a real boolean (0/1 on SQLite),
_submitted_at the same timestamp (the same text on SQLite)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from db_servers import fresh_database
from forms_sync import status
from forms_sync.definition.model import parse_definition
from forms_sync.reference import regions
from forms_sync.store import database as db
from forms_sync.store import tables as T

TZ = "Asia/Jakarta"
TODAY = dt.date(2026, 5, 20)  # latest ended period: 2026-04, which has no rows at all
SYNCED = dt.datetime(2026, 5, 20, 1, 0)
# due_days 5, Jakarta (UTC+7): 2026-01 is on time before 2026-02-06 00:00 local = 2026-02-05 17:00 UTC
DEADLINE_JAN = dt.datetime(2026, 2, 5, 17, 0)


def definition(due_days: int | None):
    raw = {"id": "uji_lengkap", "version": 1, "title": "Uji", "respondent": "province", "period": "monthly",
           "fields": [{"name": "angka", "label": "Angka", "type": "integer", "required": False}]}
    return parse_definition({**raw, "due_days": due_days} if due_days is not None else raw)


CLEAN = [  # (region, period, _submitted_at)
    ("11", "2026-01", dt.datetime(2026, 2, 1, 3, 0)),                    # on time
    ("12", "2026-01", DEADLINE_JAN),                                     # at the deadline: late
    ("13", "2026-01", DEADLINE_JAN - dt.timedelta(microseconds=1)),      # just before: on time
    ("14", "2026-01", None),                                             # time unknown
    ("15", "2026-01", dt.datetime(2026, 2, 20, 8, 30, 15, 123456)),      # late
    ("99", "2026-01", dt.datetime(2026, 2, 1)),                          # not in the reference list
    ("11.01", "2026-01", dt.datetime(2026, 2, 1)),                       # a regency: not of the level
    ("11", "2026-02", dt.datetime(2026, 3, 1, 23, 59, 59, 999999)),      # also refused: still accepted
    ("16", "2026-02", dt.datetime(2026, 3, 6)),                          # late
    ("12", "2026-03", dt.datetime(2026, 4, 1, 12)),
]
REFUSED = [  # (region_text, period_text)
    ("11", "2026-02"), ("12", "Februari 2026"), ("12", "2026-02"),       # 12: refused only
    ("99", "2026-02"), ("17", "bukan periode"),                          # unreadable: not counted
    ("18", "2026-06"),                                                   # a period with no clean rows
]


def clean_frame(rows) -> pd.DataFrame:
    return pd.DataFrame({"region": [r[0] for r in rows], "period": [r[1] for r in rows], "angka": 1,
                         "_submitted_at": pd.Series([r[2] for r in rows], dtype="datetime64[us]"),
                         "_submission_id": [f"s{i}" for i in range(len(rows))], "_source": "file:a.csv",
                         "_synced_at": SYNCED})


def refused_frame(rows) -> pd.DataFrame:
    return pd.DataFrame({"_submission_id": [f"r{i}" for i in range(len(rows))], "row": 1,
                         "region_text": [r[0] for r in rows], "period_text": [r[1] for r in rows],
                         "code": "type", "message_id": "m", "message_en": "m", "_source": "file:a.csv",
                         "_synced_at": SYNCED})


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A database of each kind holding the clean and refused rows above, per definition."""
    with fresh_database(request.param, tmp_path) as url:
        engine = db.open_engine(url)
        db.ensure_base(engine)
        yield engine
        engine.dispose()


def fill(engine, d) -> None:
    with engine.begin() as conn:
        table, rejected = db.ensure_form_tables(conn, d)
        db.insert(conn, table, clean_frame(CLEAN))
        db.insert(conn, rejected, refused_frame(REFUSED))


def stored(conn) -> list[tuple]:
    """The completeness rows as the driver returns them, each value with its Python type (1 == True)."""
    rows = conn.exec_driver_sql("SELECT form, period, region, status, on_time, _submitted_at FROM completeness").all()
    return sorted(tuple((v, type(v).__name__) for v in r) for r in rows)


def written(engine, d, touched, monkeypatch, python: bool) -> list[tuple]:
    """The rows after one update_completeness call on the SQL path (or the Python one), rolled back."""
    with monkeypatch.context() as m:
        if python:
            m.setattr(status, "_in_database", lambda conn: False)
        with engine.connect() as conn:
            trans = conn.begin()
            assert status._in_database(conn) is not python
            status.update_completeness(conn, d, TZ, touched, today=TODAY)
            rows = stored(conn)
            trans.rollback()
    return rows


def by_key(rows) -> dict[tuple[str, str], tuple]:
    """(period, region) -> (status, on_time, _submitted_at), plain values."""
    return {(r[1][0], r[2][0]): (r[3][0], r[4][0], r[5][0]) for r in rows}


def as_time(value):
    return None if value is None else pd.Timestamp(value).to_pydatetime()


def test_whole_periods_equal_the_python_rows(store, monkeypatch):
    d = definition(due_days=5)
    fill(store, d)
    got = written(store, d, None, monkeypatch, python=False)
    assert got == written(store, d, None, monkeypatch, python=True)

    provinces = regions.load().codes_for_level("province")
    assert len(got) == len(provinces) * 5  # 2026-01..04 (04: the latest ended, empty) and 06 (refused only)
    rows = by_key(got)
    assert {p for p, _ in rows} == {"2026-01", "2026-02", "2026-03", "2026-04", "2026-06"}
    assert {r for _, r in rows} == set(provinces)  # no row for 99 or the regency 11.01
    status_of = {k: v[0] for k, v in rows.items()}
    on_time = {k: v[1] for k, v in rows.items()}
    assert [on_time["2026-01", r] for r in ("11", "12", "13", "14", "15")] == [True, False, True, None, False]
    assert [status_of["2026-01", r] for r in ("11", "14", "16")] == ["accepted", "accepted", "missing"]
    assert as_time(rows["2026-01", "15"][2]) == dt.datetime(2026, 2, 20, 8, 30, 15, 123456)
    assert rows["2026-01", "14"][2] is None
    assert rows["2026-02", "11"][0] == "accepted" and as_time(rows["2026-02", "11"][2]).microsecond == 999999
    assert rows["2026-02", "12"] == ("rejected", None, None)
    assert rows["2026-02", "17"] == ("missing", None, None)
    assert rows["2026-06", "18"] == ("rejected", None, None)
    assert {v for (p, _), v in rows.items() if p == "2026-04"} == {("missing", None, None)}
    assert sum(s == "rejected" for s in status_of.values()) == 2


def test_without_due_days_on_time_stays_null(store, monkeypatch):
    d = definition(due_days=None)
    fill(store, d)
    got = written(store, d, None, monkeypatch, python=False)
    assert got == written(store, d, None, monkeypatch, python=True)
    rows = by_key(got)
    assert {v[1] for v in rows.values()} == {None}
    assert rows["2026-01", "11"][0] == "accepted" and rows["2026-02", "12"][0] == "rejected"


def test_touched_keys_equal_the_python_rows_and_a_full_rewrite(store, monkeypatch):
    """The per-key path (a few regions of stored periods) plus a period newly in scope."""
    d = definition(due_days=5)
    fill(store, d)
    with store.begin() as conn:
        status.update_completeness(conn, d, TZ, None, today=TODAY)
        table, rejected = T.form_table(d), T.rejected_table(d)
        conn.execute(table.update().where(table.c.region == "14", table.c.period == "2026-01")
                     .values(_submitted_at=dt.datetime(2026, 2, 2)))
        conn.execute(table.delete().where(table.c.region == "16", table.c.period == "2026-02"))
        db.insert(conn, table, clean_frame([("19", "2026-03", dt.datetime(2026, 4, 20))]))
        db.insert(conn, rejected, refused_frame([("21", "2026-03"), ("31", "2026-07")]))
    touched = {("14", "2026-01"), ("16", "2026-02"), ("19", "2026-03"), ("21", "2026-03"), ("31", "2026-07"),
               ("99", "2026-01"), ("11", "1999-01")}  # and one not of the level, one out of scope
    got = written(store, d, touched, monkeypatch, python=False)
    assert got == written(store, d, touched, monkeypatch, python=True)
    assert got == written(store, d, None, monkeypatch, python=True)
    rows = by_key(got)
    assert rows["2026-01", "14"][:2] == ("accepted", True)
    assert rows["2026-02", "16"] == ("missing", None, None)
    assert rows["2026-03", "19"][:2] == ("accepted", False)
    assert rows["2026-03", "21"] == ("rejected", None, None)
    assert rows["2026-07", "31"] == ("rejected", None, None)


def test_sqlite_finds_clean_rows_by_primary_key(tmp_path):
    """One lookup per expected region through the clean table's (region, period) key, never a scan."""
    engine = db.open_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    db.ensure_base(engine)
    d = definition(due_days=5)
    fill(engine, d)
    seen = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cur, sql, params, *_: seen.append((sql, params)) if "json_each" in sql else None)
    with engine.begin() as conn:
        status.update_completeness(conn, d, TZ, None, today=TODAY)
    assert len(seen) == 5  # one statement per period
    with engine.connect() as conn:
        plan = " | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + seen[0][0], seen[0][1]))
    assert "SEARCH t USING INDEX sqlite_autoindex_uji_lengkap_1 (region=? AND period=?)" in plan, plan
    engine.dispose()
