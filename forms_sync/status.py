"""Who has reported: completeness of a form against every region of its level.

For each period in scope (every period with a submission, plus the latest period that has
ended), each expected region is `accepted`, `rejected` (only refused submissions) or `missing`;
accepted rows are on time when submitted by the end of the day `due_days` after the period ends
(local time), and `on_time` is null where the definition sets no `due_days` or the time is unknown.

A sync rewrites the `completeness` rows inside the form's own transaction (so a crash leaves them
consistent with the data), and only the (region, period) keys it touched, the periods newly in
scope (the latest ended one) and the periods no longer in scope; the rest is unchanged by definition.
Whatever else decides the rows (level, period type, `due_days`, time zone, the region list) is
kept as a fingerprint in `_watermarks`; when it changes, every period is rewritten.

On SQLite and PostgreSQL the database builds the rows itself (one INSERT ... SELECT per period,
`_insert_select`), since a village form has a million of them; elsewhere pandas builds them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa

from forms_sync.definition.model import FormDefinition
from forms_sync.reference import periods, regions
from forms_sync.store import database as db
from forms_sync.store import tables as T

COMPLETENESS_MARK = "(completeness)"  # a _watermarks row: what the stored completeness rows were built from
COLUMNS = ["form", "period", "region", "status", "on_time", "_submitted_at"]


def _accepted(conn: sa.Connection, definition: FormDefinition, only: list[str] | None,
              regions_of: list[str] | None = None) -> pd.DataFrame:
    """(region, period, _submitted_at) of the clean table: the periods `only` (None: all), and of
    those only the regions `regions_of` when given."""
    table = T.form_table(definition)
    query = sa.select(table.c.region, table.c.period, table.c._submitted_at)
    if only is None:
        return pd.read_sql(query, conn)
    if regions_of is not None:
        parts = [pd.read_sql(query.where(table.c.period.in_(only), table.c.region.in_(regions_of[i:i + db.CHUNK])), conn)
                 for i in range(0, len(regions_of), db.CHUNK)]
    else:
        parts = [pd.read_sql(query.where(table.c.period.in_(only[i:i + db.CHUNK])), conn)
                 for i in range(0, len(only), db.CHUNK)]
    return pd.concat(parts, ignore_index=True) if parts else pd.read_sql(query.where(sa.false()), conn)


def rejected_keys(definition: FormDefinition, region_text: pd.Series, period_text: pd.Series) -> pd.DataFrame:
    """(region, period) of refused answers, read as the completeness reads them; unreadable ones dropped."""
    if not len(region_text):
        return pd.DataFrame({"region": pd.Series(dtype=object), "period": pd.Series(dtype=object)})
    out = pd.DataFrame({
        "region": regions.load().resolve(region_text.astype(object), definition.respondent)["code"].to_numpy(),
        "period": periods.parse_periods(period_text.astype(object), definition.period).to_numpy()})
    return out.dropna().drop_duplicates()


def _rejected(conn: sa.Connection, definition: FormDefinition) -> pd.DataFrame:
    """Distinct (region, period) of refused submissions whose region and period could be read."""
    rejected = T.rejected_table(definition)
    rej = pd.read_sql(sa.select(rejected.c.region_text, rejected.c.period_text).distinct(), conn)
    return rejected_keys(definition, rej["region_text"], rej["period_text"])


def _scope(conn: sa.Connection, definition: FormDefinition, rej: pd.DataFrame, today: dt.date) -> set[str]:
    table = T.form_table(definition)
    scope = {p for (p,) in conn.execute(sa.select(table.c.period).distinct())}
    scope |= set(rej["period"])
    scope.add(periods.latest_ended_period(definition.period, today))
    return scope


def _deadline(definition: FormDefinition, timezone: str, period: str) -> dt.datetime | None:
    """When `period` stops being on time, as stored (naive UTC): local midnight after the day
    `due_days` after the period ends; None when the definition sets no `due_days`."""
    if definition.due_days is None:
        return None
    day = periods.period_bounds(period)[1] + dt.timedelta(days=definition.due_days + 1)
    return dt.datetime.combine(day, dt.time(0), ZoneInfo(timezone)).astimezone(dt.timezone.utc).replace(tzinfo=None)


def _build(definition: FormDefinition, timezone: str, period_col: np.ndarray, region_col: np.ndarray,
           acc: pd.DataFrame, rej: pd.DataFrame) -> pd.DataFrame:
    """The rows for the (period, region) pairs given (distinct, regions of the form's level), built
    column-wise from the accepted rows `acc` and the refused keys `rej` (either may hold more)."""
    expected = regions.load().codes_for_level(definition.respondent)
    if not len(period_col):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    n = len(expected)
    region_at = pd.Index(expected)
    scope = sorted(set(period_col))
    period_at = pd.Index(scope)
    row_period = period_at.get_indexer(period_col)
    rows = pd.Index(row_period.astype("int64") * n + region_at.get_indexer(region_col))

    def locate(frame: pd.DataFrame) -> np.ndarray:
        """Row position of each (region, period) in `frame`, -1 where none."""
        r = region_at.get_indexer(frame["region"].astype(object))
        p = period_at.get_indexer(frame["period"].astype(object))
        pos = np.full(len(frame), -1, dtype="int64")
        ok = (r >= 0) & (p >= 0)
        pos[ok] = rows.get_indexer(p[ok].astype("int64") * n + r[ok])
        return pos

    size = len(rows)
    status = np.full(size, "missing", dtype=object)
    if len(rej):
        at = locate(rej)
        status[at[at >= 0]] = "rejected"
    at = locate(acc)
    found = at >= 0
    status[at[found]] = "accepted"
    submitted = np.full(size, np.datetime64("NaT"), dtype="datetime64[ns]")
    stamps = pd.to_datetime(acc["_submitted_at"])
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    submitted[at[found]] = stamps.to_numpy(dtype="datetime64[ns]")[found]
    on_time = np.full(size, None, dtype=object)
    if definition.due_days is not None:
        deadlines = np.array([np.datetime64(_deadline(definition, timezone, p), "ns") for p in scope])
        timed = (status == "accepted") & ~np.isnat(submitted)
        on_time[timed] = [bool(v) for v in (submitted < deadlines[row_period])[timed]]
    return pd.DataFrame({
        "form": definition.id,
        "period": np.asarray(period_col, dtype=object),
        "region": np.asarray(region_col, dtype=object),
        "status": status,
        "on_time": on_time,
        "_submitted_at": submitted,
    })


def _all_regions(definition: FormDefinition, scope: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(period, region) columns of every expected region in each period of `scope`, periods sorted."""
    expected = np.asarray(regions.load().codes_for_level(definition.respondent), dtype=object)
    return np.repeat(np.asarray(scope, dtype=object), len(expected)), np.tile(expected, len(scope))


def completeness_frame(conn: sa.Connection, definition: FormDefinition, timezone: str,
                       only_periods: list[str] | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """Rows of the `completeness` table for one form (columns form, period, region, status, ...)."""
    today = today or dt.date.today()
    rej = _rejected(conn, definition)
    scope = sorted(set(only_periods) if only_periods else _scope(conn, definition, rej, today))
    acc = _accepted(conn, definition, scope if only_periods else None)
    return _build(definition, timezone, *_all_regions(definition, scope), acc, rej)


def _write(conn: sa.Connection, definition: FormDefinition, frame: pd.DataFrame) -> int:
    """Insert completeness rows; the `missing` ones (most, on a village form) as one list of
    regions per period that the database expands itself."""
    missing = frame["status"].to_numpy() == "missing"
    written = db.insert(conn, T.completeness, frame[~missing])
    rest = frame.loc[missing, ["period", "region"]]
    for period, grp in rest.groupby("period", sort=True):
        written += db.insert_repeated(conn, T.completeness, {"form": definition.id, "period": period,
                                                             "status": "missing"}, "region", grp["region"].tolist())
    return written


def _in_database(conn: sa.Connection) -> bool:
    """Whether the database can expand a bound list of regions itself (as db.insert_repeated does),
    so `_insert_select` can build the rows there; elsewhere they are built in Python."""
    name = conn.dialect.name
    return name == "postgresql" or (name == "sqlite" and sqlite3.sqlite_version_info >= (3, 38))


def _insert_select(conn: sa.Connection, definition: FormDefinition, timezone: str, period: str,
                   regions_of: list[str], refused: list[str]) -> int:
    """Write the rows of `regions_of` (distinct, of the form's level) in `period` with one
    INSERT ... SELECT, the same rows `_build` + `_write` give: the list (json_each on SQLite, unnest
    on PostgreSQL) is joined to the clean table on its primary key (region, period), so no row
    passes through Python. `refused`: regions with refused answers in the period (any, a list)."""
    if not regions_of:
        return 0
    if conn.dialect.name == "postgresql":
        rows, refused_rows = "unnest(CAST(:regions AS text[])) AS e(value)", "SELECT unnest(CAST(:refused AS text[]))"
        form, key, deadline = "CAST(:form AS text)", "CAST(:period AS text)", "CAST(:deadline AS timestamp)"
        regions_value, refused_value = list(regions_of), list(refused)
    else:  # SQLite: times are text in one fixed format, so text order is time order; booleans 0/1
        rows, refused_rows = "json_each(:regions) AS e", "SELECT value FROM json_each(:refused)"
        form, key, deadline = ":form", ":period", ":deadline"
        regions_value, refused_value = (json.dumps(list(v), ensure_ascii=False) for v in (regions_of, refused))
    # on_time: NULL unless accepted (t matched) with a time and the definition has a deadline
    sql = (f"INSERT INTO {db.quote(conn, T.completeness.name)} (form, period, region, status, on_time, _submitted_at) "
           f"SELECT {form}, {key}, e.value, CASE WHEN t.region IS NOT NULL THEN 'accepted' "
           f"WHEN e.value IN ({refused_rows}) THEN 'rejected' ELSE 'missing' END, "
           f"t._submitted_at < {deadline}, t._submitted_at "
           f"FROM {rows} LEFT JOIN {db.quote(conn, definition.id)} AS t ON t.region = e.value AND t.period = {key}")
    statement = sa.text(sql).bindparams(sa.bindparam("deadline", type_=T.TIMESTAMP))  # the stored text on SQLite
    conn.execute(statement, {"form": definition.id, "period": period, "regions": regions_value,
                             "refused": refused_value, "deadline": _deadline(definition, timezone, period)})
    return len(regions_of)


def _write_in_python(conn: sa.Connection, definition: FormDefinition, timezone: str, whole: list[str],
                     everything: bool, by_period: dict[str, list[str]], rej: pd.DataFrame) -> int:
    """The rows of the periods `whole` (`everything`: those are all periods in scope) and of the
    keys `by_period`, built in pandas: for databases that cannot expand a bound list."""
    written = 0
    if whole:
        acc = _accepted(conn, definition, None if everything else whole)
        written += _write(conn, definition, _build(definition, timezone, *_all_regions(definition, whole), acc, rej))
    if by_period:
        period_col, region_col, parts = [], [], []
        for period, regs in by_period.items():
            period_col += [period] * len(regs)
            region_col += regs
            parts.append(_accepted(conn, definition, [period], regs))
        acc = pd.concat(parts, ignore_index=True)
        written += _write(conn, definition, _build(definition, timezone, np.asarray(period_col, dtype=object),
                                                   np.asarray(region_col, dtype=object), acc, rej))
    return written


def _fingerprint(definition: FormDefinition, timezone: str) -> str:
    codes = regions.load().codes_for_level(definition.respondent)
    digest = hashlib.sha256("\n".join(codes).encode()).hexdigest()[:16]
    return json.dumps({"level": definition.respondent, "period": definition.period, "due_days": definition.due_days,
                       "timezone": timezone, "regions": f"{len(codes)}:{digest}"}, sort_keys=True)


def update_completeness(conn: sa.Connection, definition: FormDefinition, timezone: str,
                        touched: pd.DataFrame | set[tuple[str, str]] | None, today: dt.date | None = None) -> int:
    """Bring the form's `completeness` rows up to date on the caller's transaction.

    `touched`: the (region, period) keys whose clean or refused rows may have changed (None:
    everything). Rewritten are those keys, every region of a period newly in scope (the latest
    ended one, or a first submission), and nothing of a period no longer in scope. Returns how
    many rows were written."""
    today = today or dt.date.today()
    c, w = T.completeness, T.watermarks
    fingerprint = _fingerprint(definition, timezone)
    stored_fp = conn.execute(sa.select(w.c.value).where(w.c.form == definition.id,
                                                        w.c.source == COMPLETENESS_MARK)).scalar()
    rej = _rejected(conn, definition)
    scope = _scope(conn, definition, rej, today)
    expected = regions.load().codes_for_level(definition.respondent)
    n = len(expected)
    by_period: dict[str, list[str]] = {}
    if touched is None or stored_fp != fingerprint:
        conn.execute(c.delete().where(c.c.form == definition.id))
        whole = set(scope)
    else:
        stored = {p for (p,) in conn.execute(sa.select(c.c.period).distinct().where(c.c.form == definition.id))}
        whole = scope - stored
        if not isinstance(touched, pd.DataFrame):  # (region, period) pairs
            touched = pd.DataFrame(list(touched), columns=["region", "period"], dtype=object)
        if len(touched):
            keys = touched[["region", "period"]].dropna().drop_duplicates()
            keys = keys[keys["period"].isin(list(scope & stored))]
            for period, grp in keys.groupby("period", sort=True):
                if len(grp) * 4 > n:  # most of the period: rewrite it whole
                    whole.add(period)
                else:
                    by_period[period] = grp["region"].astype(object).tolist()
        drop = sorted((stored - scope) | (whole & stored))
        for i in range(0, len(drop), db.CHUNK):
            conn.execute(c.delete().where(c.c.form == definition.id, c.c.period.in_(drop[i:i + db.CHUNK])))
        for period, regs in by_period.items():
            for i in range(0, len(regs), db.CHUNK):
                conn.execute(c.delete().where(c.c.form == definition.id, c.c.period == period,
                                              c.c.region.in_(regs[i:i + db.CHUNK])))
    if by_period:  # only regions of the form's level have rows
        known = set(expected)
        by_period = {period: [r for r in regs if r in known] for period, regs in by_period.items()}
    if not _in_database(conn):
        written = _write_in_python(conn, definition, timezone, sorted(whole), whole == scope, by_period, rej)
    else:
        written = 0
        refused = rej.groupby("period")["region"].agg(list).to_dict() if len(rej) else {}
        for period, regs in [*((p, expected) for p in sorted(whole)), *by_period.items()]:
            written += _insert_select(conn, definition, timezone, period, regs, refused.get(period, []))
    if stored_fp != fingerprint:
        db.upsert(conn, w, pd.DataFrame([{"form": definition.id, "source": COMPLETENESS_MARK, "value": fingerprint,
                                          "updated_at": db.utcnow()}]), ["form", "source"])
    return written


def refresh_completeness(engine: sa.Engine, definition: FormDefinition, timezone: str) -> int:
    """Rewrite every row of the form in the `completeness` table in one transaction."""
    with engine.begin() as conn:
        return update_completeness(conn, definition, timezone, None)


@dataclass
class PeriodStatus:
    period: str
    expected: int
    on_time: int
    late: int
    accepted_unknown_time: int
    rejected: list[str]
    missing: list[str]
    late_regions: list[str]

    @property
    def accepted(self) -> int:
        return self.on_time + self.late + self.accepted_unknown_time


def form_status(engine: sa.Engine, definition: FormDefinition, timezone: str, period: str | None = None,
                today: dt.date | None = None) -> list[PeriodStatus]:
    """Completeness per period (one, or every period in scope), from the current tables."""
    only = None
    if period is not None:
        pid = periods.parse_period(period, definition.period)
        if pid is None:
            from forms_sync.errors import ConfigError
            raise ConfigError(f"--period {period!r} is not a {definition.period} period; write e.g. "
                              f"{periods.period_example(definition.period)}")
        only = [pid]
    with engine.connect() as conn:
        frame = completeness_frame(conn, definition, timezone, only, today)
    out = []
    for pid, f in frame.groupby("period", sort=True):
        acc = f[f["status"] == "accepted"]
        on = acc["on_time"]
        out.append(PeriodStatus(
            period=pid, expected=len(f),
            on_time=int((on == True).sum()), late=int((on == False).sum()),  # noqa: E712
            accepted_unknown_time=int(on.isna().sum()),
            rejected=f.loc[f["status"] == "rejected", "region"].tolist(),
            missing=f.loc[f["status"] == "missing", "region"].tolist(),
            late_regions=acc.loc[on == False, "region"].tolist()))  # noqa: E712
    return out
