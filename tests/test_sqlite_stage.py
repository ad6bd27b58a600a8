"""Large SQLite inserts bound from Arrow by the ADBC driver (store/sqlite_stage.py) store exactly
what the executemany path stores: the same value of the same SQLite storage class in every cell,
for every column type the tables use and every kind of missing value, inside the caller's
transaction (rolled back with it)."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from forms_sync.errors import DatabaseError
from forms_sync.store import database as db
from forms_sync.store import sqlite_stage
from test_pg_copy import edge_frame, edge_table

N = sqlite_stage.MIN_ROWS + 600


def frame(n: int, offset: int = 0) -> pd.DataFrame:
    # day_text: text into a Date column, which SQLAlchemy's SQLite date type refuses on either path
    return edge_frame(n, offset).drop(columns=["day_text"])


def table_for_frame(name: str) -> sa.Table:
    """edge_table without day_text, as in frame()."""
    table = edge_table(name)
    table._columns.remove(table.c.day_text)  # noqa: SLF001
    return table


def stored(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    """Every cell as (value, storage class): 3 stored as INTEGER differs from 3.0 stored as REAL."""
    cols = ", ".join(f"{db.quote(conn, c.name)}, typeof({db.quote(conn, c.name)})" for c in table.c)
    return conn.exec_driver_sql(f"SELECT {cols} FROM {db.quote(conn, table.name)} ORDER BY 1, 3").all()


@pytest.fixture
def engine(tmp_path):
    engine = db.open_engine(f"sqlite:///{tmp_path / 'stage.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def staged(monkeypatch):
    """The tables each staged insert went to."""
    calls = []
    real = sqlite_stage.copy_image
    monkeypatch.setattr(sqlite_stage, "copy_image", lambda conn, name, *rest: (calls.append(name), real(conn, name, *rest)))
    return calls


def write_both(engine, monkeypatch, rows: pd.DataFrame) -> tuple[list, list]:
    """Insert `rows` into one table as the code does and into another with the stage switched off."""
    out = []
    for name, plain in (("edge_staged", False), ("edge_rows", True)):
        table = table_for_frame(name)
        with monkeypatch.context() as mp:
            if plain:
                mp.setattr(sqlite_stage, "usable", lambda *_: False)
            with engine.begin() as conn:
                table.create(conn)
                db.insert(conn, table, rows)
                schemas = {row[1] for row in conn.exec_driver_sql("PRAGMA database_list")}
                if sqlite_stage.STAGE in schemas:  # the staged rows' memory is given back
                    assert conn.exec_driver_sql(f"SELECT count(*) FROM {sqlite_stage.STAGE}.sqlite_master").scalar_one() == 0
            with engine.connect() as conn:
                out.append(stored(conn, table))
    return out[0], out[1]


@pytest.mark.parametrize("n", [sqlite_stage.MIN_ROWS - 1, N])
def test_insert_stores_what_executemany_stores(engine, monkeypatch, staged, n):
    new, old = write_both(engine, monkeypatch, frame(n))
    assert staged == (["edge_staged"] if n >= sqlite_stage.MIN_ROWS else [])
    assert len(new) == n and new == old
    cells = {column: {row[2 * i:2 * i + 2] for row in new} for i, column in enumerate(frame(1).columns)}
    assert ("x" * 70_000, "text") in cells["text"] and (None, "null") in cells["text"] and ("", "text") in cells["text"]
    assert {(3, "integer"), (0.1, "real"), (None, "null")} <= cells["num"]  # NUMERIC affinity, as when bound
    assert {(5, "integer"), (-(2.0**63), "real"), (10**15, "integer")} <= cells["num_int"]  # ints bound as floats
    assert {(1, "integer"), (0, "integer")} <= cells["flag"]


def test_unusual_columns_keep_executemany(engine, monkeypatch, staged):
    """A column the Arrow path cannot vouch for sends the whole frame through executemany."""
    table = edge_table("edge_staged")
    base = frame(N)
    unusual = {
        "num": [Decimal("1.50")] * N,  # Decimal objects: SQLAlchemy's float conversion
        "text": [1, "a"] * (N // 2),  # mixed types
        "day": [dt.datetime(2026, 1, 2, 3, 4)] * N,  # datetimes (a date subclass) into a date
    }
    with engine.connect() as conn:
        assert sqlite_stage.arrow_rows(conn, table, base) is not None
        for column, values in unusual.items():
            assert sqlite_stage.arrow_rows(conn, table, base.assign(**{column: values})) is None, column
        # text into a date column: SQLAlchemy's date type refuses it, so executemany says so
        assert sqlite_stage.arrow_rows(conn, table, base.assign(day=["2026-01-02"] * N)) is None
    new, old = write_both(engine, monkeypatch, base.assign(num=unusual["num"]))
    assert staged == [] and new == old and {r[10:12] for r in new} == {(1.5, "real")}


def test_staged_rows_roll_back_with_the_transaction(engine, staged):
    table = table_for_frame("edge_staged")
    rows = frame(N)
    with engine.begin() as conn:
        table.create(conn)
    with pytest.raises(DatabaseError) as info, db.translate_errors(), engine.begin() as conn:
        db.insert(conn, table, rows)
        db.insert(conn, table, frame(N, offset=N - 10))  # ten keys again
    assert staged == ["edge_staged", "edge_staged"]
    assert "UNIQUE constraint failed" in str(info.value) and "\n" not in str(info.value)
    with engine.connect() as conn:
        assert stored(conn, table) == []


def test_unwritable_temporary_folder_is_one_clear_error(engine, tmp_path, monkeypatch):
    table = table_for_frame("edge_staged")
    with engine.begin() as conn:
        table.create(conn)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "no" / "such" / "folder"))
    with pytest.raises(DatabaseError) as info, engine.begin() as conn:
        db.insert(conn, table, frame(N))
    message = str(info.value)
    assert "could not be staged" in message and "TMPDIR" in message and "\n" not in message
    with engine.connect() as conn:
        assert stored(conn, table) == []


FULL_FOLDER_SCRIPT = """
import resource, signal, sys
from forms_sync.errors import DatabaseError
from forms_sync.store import database as db
from test_sqlite_stage import N, frame, table_for_frame
engine = db.open_engine(sys.argv[1])
table = table_for_frame("edge_staged")
with engine.begin() as conn:
    table.create(conn)
rows = frame(N)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, resource.RLIM_INFINITY))
try:
    with engine.begin() as conn:
        db.insert(conn, table, rows)
except DatabaseError as exc:
    print(exc)
"""


def test_a_full_temporary_folder_names_the_cause(tmp_path):
    """The driver reports a failed write in autocommit mode as a failed ROLLBACK; the message must
    carry the write's own error. Files are capped at 1 MB (RLIMIT_FSIZE) in a child process."""
    import subprocess
    import sys
    from pathlib import Path
    pytest.importorskip("resource")
    tests = Path(__file__).parent
    url = f"sqlite:///{tmp_path / 'full.db'}"
    run = subprocess.run([sys.executable, "-c", FULL_FOLDER_SCRIPT, url], capture_output=True, text=True,
                         env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(tests)}, timeout=120)
    assert run.returncode == 0, run.stderr
    message = run.stdout.strip()
    assert message.startswith(f"rows could not be staged in {tmp_path} (") and "MB needed): disk I/O error." in message
    assert re.search(r"\(\d[\d,]* MB free there, about [1-9]\d* MB needed\)", message), message
    assert "rollback" not in message and "TMPDIR" in message
    full = db.open_engine(url)
    with full.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM edge_staged").scalar_one() == 0
    full.dispose()


def test_a_utf16_database_keeps_executemany(tmp_path, monkeypatch, staged):
    """An attached image must share the main database's text encoding: a UTF-16 database (made by
    another tool) is written row by row, and stores the same values."""
    engine = db.open_engine(f"sqlite:///{tmp_path / 'utf16.db'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA encoding = 'UTF-16le'")
        conn.exec_driver_sql("CREATE TABLE first (x)")  # the encoding is fixed by the first table
        conn.commit()
        assert conn.exec_driver_sql("PRAGMA encoding").scalar() == "UTF-16le"
        assert not sqlite_stage.usable(conn, N)
    new, old = write_both(engine, monkeypatch, frame(N))
    engine.dispose()
    assert staged == [] and len(new) == N and new == old


def test_folders_of_killed_runs_are_removed(engine, tmp_path, monkeypatch, staged):
    """A run killed while staging (kill -9) leaves its folder, unlocked: the next run that stages
    removes it. A folder another live process holds locked (a run in another container, whose pid
    means nothing here), one too young to be locked yet, and a plain file are left alone."""
    import subprocess
    import sys
    import time
    old = time.time() - 2 * sqlite_stage.SETTLE_SECONDS
    folders = {name: tmp_path / f"{sqlite_stage.PREFIX}{name}" for name in ("killed", "live", "young")}
    for folder in folders.values():
        folder.mkdir()
        (folder / sqlite_stage.IN_USE).touch()
        (folder / "stage.db").write_bytes(b"x" * 100)
    for name in ("killed", "live"):
        os.utime(folders[name], (old, old))
    plain = tmp_path / f"{sqlite_stage.PREFIX}file"
    plain.write_text("not a folder")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               f"fh = open({str(folders['live'] / sqlite_stage.IN_USE)!r}, 'a')\n"
                               "fcntl.flock(fh, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
        sqlite_stage._remove_abandoned.cache_clear()
        table = table_for_frame("edge_staged")
        with engine.begin() as conn:
            table.create(conn)
            db.insert(conn, table, frame(N))
    finally:
        holder.kill()
        holder.wait()
    assert staged == ["edge_staged"]
    assert sorted(p.name for p in tmp_path.glob(f"{sqlite_stage.PREFIX}*")) == \
        sorted([folders["live"].name, folders["young"].name, plain.name])
    assert (folders["live"] / "stage.db").exists()  # its run's rows untouched


def test_a_sync_through_the_stage_stores_what_executemany_stores(tmp_path, monkeypatch, staged):
    """A whole sync (every field type, refused rows, resubmissions, in parts of 37 rows, then a
    grown file) with every insert staged, the `_submissions` rows in a worker thread, leaves the
    tables a sync with the stage switched off leaves."""
    from db_servers import snapshot
    from forms_sync.definition.model import load_definitions
    from forms_sync.sources import files
    from forms_sync.sync import run_sync
    from sync_data import write_project

    monkeypatch.setattr(files, "STREAM_BYTES", 0)
    monkeypatch.setattr(files, "CHUNK_ROWS", 37)
    monkeypatch.setattr(sqlite_stage, "MIN_ROWS", 1)
    snaps = []
    for name, on in (("staged", True), ("plain", False)):
        config = write_project(tmp_path / name, regencies=60, months=3, files=2)
        url = f"sqlite:///{tmp_path / name}.db"
        monkeypatch.setenv("FORMS_SYNC_DATABASE_URL", url)
        with monkeypatch.context() as mp:
            if not on:
                mp.setattr(sqlite_stage, "usable", lambda *_: False)
            counts = [run_sync(config, export=False).forms]
            for path in sorted((tmp_path / name / "in").glob("*.csv")):  # the same rows again, later
                with open(path, encoding="utf-8") as fh:
                    lines = fh.read().splitlines(keepends=True)
                with open(path, "a", encoding="utf-8") as fh:
                    fh.writelines(lines[1:6])
            counts.append(run_sync(config, export=False).forms)
        snap = snapshot(url, load_definitions(config.parent / "defs").values())
        snap.pop("_watermarks")
        snaps.append((snap, [[(f.form, f.accepted, f.rejected, f.superseded, f.new) for f in c] for c in counts]))
    assert "_submissions" in staged and "rekap_sekolah" in staged
    assert snaps[0] == snaps[1]


def test_a_full_folder_for_sqlite_sorting_is_named_with_its_free_space(tmp_path, run_cli):
    """SQLite sorts and spills in TMPDIR as well: when that is full during a sync, the message names
    it and the database's folder with the room each has left. Needs a tiny tmpfs (root)."""
    import subprocess
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import run as bench
    data, grown = tmp_path / "v.csv", tmp_path / "g.csv"
    bench.generate(20_000, data, grown)
    bench.write_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", data)
    assert run_cli("sync", "--no-export").returncode == 1  # ~1% refused rows
    data.write_bytes(grown.read_bytes())  # 1,000 more rows: too few for the stage
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], capture_output=True).returncode:
        pytest.skip("a tmpfs cannot be mounted here")
    try:
        p = run_cli("sync", "--no-export", "--format", "json", env={"TMPDIR": str(small)})
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert p.returncode == 3, p.stdout + p.stderr
    message = json.loads(p.stdout)["forms"][0]["message"]
    assert message.startswith("database error: database or disk is full (the database's folder ")
    assert f", {small}, has 2 MB free)" in message and "SQLITE_TMPDIR" in message
