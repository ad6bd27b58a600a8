"""One sync at a time: a lock that says who holds it since when, and dies with its process.

SQLite: an OS file lock (flock) beside the database; it is released by the kernel when the holder
dies, so a crashed run never blocks the next one. Servers: a session-level advisory lock
(pg_try_advisory_lock / GET_LOCK), likewise released when the holder's connection goes away.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from forms_sync.errors import LockHeld

PG_LOCK_KEY = 0x666F726D73  # "forms"
MYSQL_LOCK_NAME = "forms_sync"


def _holder() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def _describe(info: dict | None) -> str:
    if not info:
        return "another forms-sync run"
    return f"process {info.get('pid')} on {info.get('host')} since {info.get('since')} (UTC)"


@contextmanager
def file_lock(path: Path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            try:
                info = json.loads(fh.read() or "null")
            except ValueError:
                info = None
            raise LockHeld(f"another sync is running: {_describe(info)}. Lock file: {path}. "
                           "This run did nothing; try again when it has finished.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(_holder()))
        fh.flush()
        yield
    finally:
        fh.close()  # closing releases the flock


@contextmanager
def server_lock(engine: sa.Engine):
    """Advisory lock held on a dedicated connection for the whole run."""
    conn = engine.connect()
    try:
        name = engine.dialect.name
        if name == "postgresql":
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
            holder_sql = ("SELECT a.pid, a.client_addr::text, a.backend_start FROM pg_locks l "
                          "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                          "AND l.objid = :k AND l.pid <> pg_backend_pid()")
        elif name in ("mysql", "mariadb"):
            got = conn.execute(sa.text("SELECT GET_LOCK(:n, 0)"), {"n": MYSQL_LOCK_NAME}).scalar() == 1
            holder_sql = "SELECT IS_USED_LOCK(:n), NULL, NULL"
        else:
            got, holder_sql = True, None
        conn.commit()
        if not got:
            row = conn.execute(sa.text(holder_sql), {"k": PG_LOCK_KEY, "n": MYSQL_LOCK_NAME}).first()
            who = f"database session {row[0]}" + (f" since {row[2]}" if row and row[2] else "") if row else \
                "another forms-sync run"
            raise LockHeld(f"another sync is running ({who}). This run did nothing; try again when it "
                           "has finished.")
        yield
    finally:
        conn.close()  # ends the session: the advisory lock goes with it


@contextmanager
def sync_lock(engine: sa.Engine, lock_file: Path | None):
    """The lock for this database: a file lock for SQLite, an advisory lock for servers."""
    if engine.dialect.name == "sqlite":
        db = engine.url.database
        path = lock_file or Path((db if db and db != ":memory:" else "forms_sync.db") + ".lock")
        with file_lock(path):
            yield
    else:
        with server_lock(engine):
            yield
