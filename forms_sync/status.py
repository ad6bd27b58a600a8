"""Who has reported: completeness of a form against every region of its level.

For each period in scope (every period with a submission, plus the latest period that has
ended), each expected region is `accepted`, `rejected` (only refused submissions) or `missing`;
accepted rows are on time when submitted by the end of the day `due_days` after the period ends
(local time), and `on_time` is null where the definition sets no `due_days` or the time is unknown.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from forms_sync.definition.model import FormDefinition
from forms_sync.reference import periods, regions
from forms_sync.store import database as db
from forms_sync.store import tables as T


def completeness_frame(conn: sa.Connection, definition: FormDefinition, timezone: str,
                       only_periods: list[str] | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """Rows of the `completeness` table for one form (columns form, period, region, status, ...)."""
    table, rejected = T.form_table(definition), T.rejected_table(definition)
    acc = pd.read_sql(sa.select(table.c.region, table.c.period, table.c._submitted_at), conn)
    rej = pd.read_sql(sa.select(rejected.c.region_text, rejected.c.period_text).distinct(), conn)
    if len(rej):
        ref = regions.load()
        rej["region"] = ref.resolve(rej["region_text"].astype(object), definition.respondent)["code"]
        rej["period"] = periods.parse_periods(rej["period_text"].astype(object), definition.period)
        rej = rej.dropna(subset=["region", "period"])
    today = today or dt.date.today()
    scope = set(acc["period"]) | set(rej["period"] if len(rej) else [])
    scope.add(periods.latest_ended_period(definition.period, today))
    if only_periods:
        scope = set(only_periods)
    expected = regions.load().codes_for_level(definition.respondent)
    frames = []
    tz = ZoneInfo(timezone)
    for period in sorted(scope):
        f = pd.DataFrame({"form": definition.id, "period": period, "region": expected})
        a = acc[acc["period"] == period].set_index("region")["_submitted_at"]
        r = set(rej.loc[rej["period"] == period, "region"]) if len(rej) else set()
        f["_submitted_at"] = pd.to_datetime(a.reindex(f["region"]).to_numpy())  # (map() fails on an empty a)
        f["status"] = "missing"
        f.loc[f["region"].isin(r), "status"] = "rejected"
        f.loc[f["region"].isin(a.index), "status"] = "accepted"
        f["on_time"] = None
        if definition.due_days is not None:
            end = periods.period_bounds(period)[1] + dt.timedelta(days=definition.due_days + 1)
            deadline = dt.datetime.combine(end, dt.time(0), tz).astimezone(dt.timezone.utc).replace(tzinfo=None)
            timed = (f["status"] == "accepted") & f["_submitted_at"].notna()
            f["on_time"] = f["on_time"].astype(object)
            f.loc[timed, "on_time"] = (f.loc[timed, "_submitted_at"] < deadline).astype(object)
        frames.append(f)
    cols = ["form", "period", "region", "status", "on_time", "_submitted_at"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def refresh_completeness(engine: sa.Engine, definition: FormDefinition, timezone: str) -> int:
    """Rewrite the form's rows of the `completeness` table in one transaction."""
    with engine.begin() as conn:
        frame = completeness_frame(conn, definition, timezone)
        conn.execute(T.completeness.delete().where(T.completeness.c.form == definition.id))
        return db.insert(conn, T.completeness, frame)


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
    with engine.connect() as conn:
        if period is not None:
            pid = periods.parse_period(period, definition.period)
            if pid is None:
                from forms_sync.errors import ConfigError
                raise ConfigError(f"--period {period!r} is not a {definition.period} period; write e.g. "
                                  f"{periods.period_example(definition.period)}")
            frame = completeness_frame(conn, definition, timezone, [pid], today)
        else:
            frame = completeness_frame(conn, definition, timezone, None, today)
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
