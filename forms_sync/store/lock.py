"""One sync at a time: a lock that says who holds it since when, and dies with its process.

SQLite: an OS file lock (flock) beside the database, released by the kernel when the holder dies.
Servers: a session-level advisory lock (pg_try_advisory_lock / GET_LOCK) held on a connection of
its own, released by the server when that session ends. The lock is the truth; beside it the
holder writes who it is (the lock file's content, the `_lock` row) so a refused run can say who
holds it, and a run that finds a description left behind knows its holder died and says so.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from forms_sync.errors import LockHeld
from forms_sync.store import database as db
from forms_sync.store import tables as T

log = logging.getLogger("forms_sync.lock")

PG_LOCK_KEY = 0x666F726D73  # "forms"; advisory locks are per database on PostgreSQL
LOCK_ROW = "sync"
RETRY = "This run did nothing; try again when it has finished."


def _holder(command: str) -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
            "since": db.utcnow()}


def _describe(info: dict | None) -> str:
    if not info:
        return "another forms-sync run (it has not said who it is yet)"
    since = info["since"] if isinstance(info["since"], str) else info["since"].isoformat(sep=" ")
    command = f" (forms-sync {info['command']})" if info.get("command") else ""
    return f"process {info['pid']} on {info['host']}{command}, since {since} UTC"


@contextmanager
def file_lock(path: Path, command: str = "sync"):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"another sync is running: {_describe(_read_file(fh))}. Lock file: {path}. "
                           f"{RETRY}") from None
        _took_over(_read_file(fh))
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(_holder(command), default=lambda d: d.isoformat(sep=" ")))
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)  # released cleanly: nothing left to report; closing drops the flock


def _read_file(fh) -> dict | None:
    fh.seek(0)
    try:
        info = json.loads(fh.read() or "null")
    except ValueError:
        return None
    return info if isinstance(info, dict) and {"pid", "host", "since"} <= set(info) else None


def _took_over(previous: dict | None) -> None:
    if previous:
        log.warning("took over the lock from %s: that run ended without releasing it (killed or "
                    "crashed), and what it had not committed was rolled back", _describe(previous))


@contextmanager
def server_lock(engine: sa.Engine, command: str = "sync"):
    """Advisory lock held on a dedicated connection for the whole run."""
    conn = engine.connect()
    try:
        if engine.dialect.name == "postgresql":
            # notice a vanished client host within ~2 minutes, so its lock is freed
            conn.exec_driver_sql("SELECT set_config('tcp_keepalives_idle', '60', false), "
                                 "set_config('tcp_keepalives_interval', '10', false), "
                                 "set_config('tcp_keepalives_count', '6', false)")
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        else:  # GET_LOCK names are server-wide: one lock per database
            got = conn.execute(sa.text("SELECT GET_LOCK(:n, 0)"), {"n": _mysql_lock_name(conn)}).scalar() == 1
        conn.commit()
        if not got:
            raise LockHeld(f"another sync is running: {_describe(_read_row(conn))}. {RETRY}")
        T.lock_holder.create(conn, checkfirst=True)
        _took_over(_read_row(conn))
        conn.execute(T.lock_holder.delete())
        conn.execute(T.lock_holder.insert().values(name=LOCK_ROW, **_holder(command)))
        conn.commit()
        try:
            yield
        finally:
            try:
                conn.execute(T.lock_holder.delete())
                conn.commit()
            except sa.exc.SQLAlchemyError:  # the session is gone: the server dropped the lock too
                pass
    finally:
        conn.close()  # ends the session: the advisory lock goes with it


def _mysql_lock_name(conn: sa.Connection) -> str:
    return f"forms_sync.{conn.exec_driver_sql('SELECT DATABASE()').scalar()}"[:64]


def _read_row(conn: sa.Connection) -> dict | None:
    try:
        row = conn.execute(sa.select(T.lock_holder).where(T.lock_holder.c.name == LOCK_ROW)).mappings().first()
        conn.commit()
    except sa.exc.SQLAlchemyError:  # no _lock table yet: the holder is just starting
        conn.rollback()
        return None
    return dict(row) if row else None


@contextmanager
def sync_lock(engine: sa.Engine, lock_file: Path | None, command: str = "sync"):
    """The lock for this database: a file lock for SQLite, an advisory lock for servers."""
    if engine.dialect.name in ("postgresql", "mysql", "mariadb"):
        with server_lock(engine, command):
            yield
    else:  # SQLite, or a database without advisory locks: a file beside it (or lock_file)
        db = engine.url.database if engine.dialect.name == "sqlite" else None
        path = lock_file or Path((db if db and db != ":memory:" else "forms_sync.db") + ".lock")
        with file_lock(path, command):
            yield
