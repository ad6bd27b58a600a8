"""Fresh databases for tests: an SQLite file, or a uniquely named database on PostgreSQL / MariaDB
that is dropped afterwards.

Servers come from FORMS_SYNC_TEST_POSTGRESQL_URL and FORMS_SYNC_TEST_MARIADB_URL (defaults: the
local services, trust auth, as user postgres / root); the user must be allowed to create databases. A server that cannot be reached skips its tests with the reason,
unless FORMS_SYNC_TEST_REQUIRE_SERVERS=1 (CI): then they fail.

Test modules import the fixtures they use: `from db_servers import database_url`.
"""
from __future__ import annotations

import functools
import os
import uuid
from collections import Counter
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

SERVER_URLS = {
    "postgresql": os.environ.get("FORMS_SYNC_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": os.environ.get("FORMS_SYNC_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
}
DIALECTS = ["sqlite", "postgresql", "mariadb"]
SERVERS = ["postgresql", "mariadb"]
REQUIRE_SERVERS = os.environ.get("FORMS_SYNC_TEST_REQUIRE_SERVERS") == "1"


@functools.cache
def unavailable(kind: str) -> str | None:
    """Why a server cannot be used (None when it can)."""
    if kind == "sqlite":
        return None
    url = sa.engine.make_url(SERVER_URLS[kind])
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # driver missing, refused, auth: any reason is a reason to skip
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        return (f"{kind} server not reachable at {url.render_as_string(hide_password=True)} "
                f"({reason[0] if reason else type(exc).__name__}); set FORMS_SYNC_TEST_{kind.upper()}_URL")
    return None


def require(kind: str) -> None:
    """Skip (or, with FORMS_SYNC_TEST_REQUIRE_SERVERS=1, fail) when the server is unreachable."""
    reason = unavailable(kind)
    if reason:
        if REQUIRE_SERVERS:
            pytest.fail(f"{reason}; FORMS_SYNC_TEST_REQUIRE_SERVERS=1 requires it")
        pytest.skip(reason)


@contextmanager
def fresh_database(kind: str, tmp_path):
    """The URL of an empty database of `kind`, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'fs_{uuid.uuid4().hex[:8]}.db'}"
        return
    require(kind)
    server = sa.engine.make_url(SERVER_URLS[kind])
    name = f"fs_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if kind == "postgresql" else ""
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()


@pytest.fixture(params=DIALECTS)
def database_url(request, tmp_path):
    """A fresh database of each kind: the test runs once per dialect."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=SERVERS)
def server_url(request, tmp_path):
    """A fresh database on each server (PostgreSQL, MariaDB)."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


def snapshot(url: str, definitions) -> dict[str, Counter]:
    """Every table a sync writes as a multiset of rows, without what depends on when or in which run
    it happened (sync and receive times, run ids): equal snapshots mean equal data."""
    from forms_sync.store import tables as T
    from forms_sync.sync import EXPORTS_PENDING

    def rows(conn, select, drop=(), fix=None) -> Counter:
        result = conn.execute(select)
        names = list(result.keys())
        keep = [i for i, n in enumerate(names) if n not in drop]
        header = tuple(names[i] for i in keep)
        values = (tuple(row[i] for i in keep) for row in result)
        if fix:
            values = (tuple(fix(dict(zip(header, v))).values()) for v in values)
        return Counter(values)

    def submission(rec):
        rec["arrival"] = rec["arrival"] % 10**10  # the order within its run
        return rec

    def watermark(rec):
        if rec["source"] == EXPORTS_PENDING:
            rec["value"] = "(run id)"
        return rec

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            snap = {
                "_submissions": rows(conn, sa.select(T.submissions), ("received_at", "run_id"), submission),
                "_watermarks": rows(conn, sa.select(T.watermarks), ("updated_at",), watermark),
                "_forms": rows(conn, sa.select(T.forms_registry), ("updated_at",)),
                "completeness": rows(conn, sa.select(T.completeness)),
                "regions": rows(conn, sa.select(T.regions)),
            }
            for d in definitions:
                snap[d.id] = rows(conn, sa.select(T.form_table(d)), ("_synced_at",))
                snap[f"{d.id}__rejected"] = rows(conn, sa.select(T.rejected_table(d)), ("_synced_at",))
                snap[f"{d.id}__long"] = rows(conn, sa.text(f"SELECT region, period, field, value FROM {d.id}__long"))
    finally:
        engine.dispose()
    return snap


def assert_same(expected: dict, got: dict, what: str) -> None:
    """Table by table, with a few of the differing rows in the message."""
    assert sorted(expected) == sorted(got)
    for table in expected:
        a, b = expected[table], got[table]
        if a != b:
            raise AssertionError(f"{what}: table {table} differs ({a.total()} vs {b.total()} rows); "
                                 f"only in the first: {list((a - b).elements())[:3]}; "
                                 f"only in the second: {list((b - a).elements())[:3]}")
