"""Time `db.insert` of an N-row frame shaped like a 40-field clean table into PostgreSQL (the COPY
path alone, no parsing or validation): region, period, 38 integer/number fields, two totals,
timestamps and text, with ~2% missing values.

    .venv/bin/python benchmarks/pg_insert.py --rows 1000000 [--per-row] [--url postgresql+psycopg://...]
"""
from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd
import sqlalchemy as sa

from forms_sync.definition.model import parse_definition
from forms_sync.store import database as db
from forms_sync.store import tables as T

FIELDS = [{"name": f"f{i:02d}", "label": f"F{i:02d}", "type": "number" if i % 4 == 3 else "integer",
           "required": False} for i in range(38)]
FIELDS += [{"name": n, "label": n, "type": "integer", "required": False} for n in ("total_a", "total_b")]
DEFINITION = {"id": "bench_pg_insert", "version": 1, "title": "bench", "respondent": "village",
              "period": "monthly", "fields": FIELDS}


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    village = np.arange(n) % 90_000  # unique (region, period) pairs
    out = {"region": pd.Series(np.char.add("32.04.05.", (2001 + village).astype(str)), dtype=object),
           "period": pd.Series(np.char.add("2026-", np.char.zfill((1 + np.arange(n) // 90_000).astype(str), 2)),
                               dtype=object)}
    for f in FIELDS:
        missing = rng.random(n) < 0.02
        if f["type"] == "number":
            values = np.round(rng.random(n) * 10.0 ** rng.integers(0, 8, n), 2)
            out[f["name"]] = pd.array(np.where(missing, np.nan, values), dtype="Float64")
        else:
            out[f["name"]] = pd.array(rng.integers(0, 100_000, n), dtype="Int64")
            out[f["name"]][missing] = pd.NA
    stamps = np.datetime64("2026-01-01T00:00:00") + rng.integers(0, 10**12, n).astype("timedelta64[us]")
    out["_submitted_at"] = stamps
    out["_submission_id"] = pd.Series(np.char.add("sub", np.arange(n).astype(str)), dtype=object)
    out["_source"] = "file:desa.csv"
    out["_synced_at"] = dt.datetime(2026, 12, 3, 10, 0, 0)
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--per-row", action="store_true", help="the old path: psycopg write_row per row")
    args = ap.parse_args()
    if args.per_row:
        db._arrow_rows = lambda *_: None
    rows = frame(args.rows)
    d = parse_definition(DEFINITION)
    engine = db.open_engine(args.url)
    table = T.form_table(d)
    try:
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
            table.create(conn)
        with engine.begin() as conn:
            wall, cpu = time.perf_counter(), time.process_time()
            db.insert(conn, table, rows)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        print(f"{'per-row' if args.per_row else 'CSV'} db.insert {args.rows:,} rows x {rows.shape[1]} columns: "
              f"{wall:.1f} s wall, {cpu:.1f} s CPU in this process ({stored:,} rows stored)")
    finally:
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
        engine.dispose()


if __name__ == "__main__":
    main()
