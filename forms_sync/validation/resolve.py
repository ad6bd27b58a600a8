"""Resubmissions (FORMAT.md §3): one accepted row per (region, period), the latest valid one wins.

"Latest" is by submission time, then by arrival order (row order) where there is no time or where
times are equal. Invalid submissions never take part, so they never replace valid data.
"""
from __future__ import annotations

import pandas as pd


def latest_valid(region: pd.Series, period: pd.Series, valid: pd.Series, submitted_at: pd.Series,
                 order: pd.Series) -> tuple[pd.Index, pd.Index]:
    """Return (winners, superseded): index labels of the valid rows that win or lose their key."""
    pool = pd.DataFrame({"region": region, "period": period, "ts": submitted_at, "order": order})[valid]
    if pool.empty:
        return pool.index, pool.index
    # NaT sorts first: a submission with no time counts as older than any timed one.
    ts = pool["ts"]
    pool = pool.assign(_has=ts.notna(), _ts=ts.fillna(pd.Timestamp(0, tz="UTC") if getattr(ts.dt, "tz", None)
                                                     else pd.Timestamp(0)))
    pool = pool.sort_values(["_has", "_ts", "order"], kind="stable")
    last = ~pool.duplicated(["region", "period"], keep="last")
    return pool.index[last.to_numpy()], pool.index[~last.to_numpy()]
