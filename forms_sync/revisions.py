"""Edited and deleted submissions: the clean table holds the latest valid *current* version.

Google keeps one response per responseId: an edit replaces it, a deletion removes it. The store
keeps every version in `_submissions` (known by (submission_id, revision)) and makes the clean
table follow, inside the form's one transaction:

- `retire_moved`: once the new version of an edited response is valid, no earlier version of it
  stays in the clean table, also when the edit moved it to another (region, period). (A new
  version that is refused leaves the earlier valid one in place: FORMAT.md §3.)
- `apply_deletions`: a complete listing (`sync --full` of a google_form) marks every version of a
  response that is no longer listed `deleted` and takes its row out of the clean table.
- `restore`: a (region, period) left empty by either gets back the latest valid submission that
  remains there (one that had been superseded), as §3 would have chosen without the one that went.
"""
from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa

from forms_sync.definition.model import FormDefinition
from forms_sync.store import database as db
from forms_sync.store import tables as T

Key = tuple[str, str]


def _chunks(items: list):
    for i in range(0, len(items), db.CHUNK):
        yield items[i:i + db.CHUNK]


def retire_moved(conn: sa.Connection, definition: FormDefinition, allnew: pd.DataFrame, typed: pd.DataFrame,
                 status: pd.Series, earlier: set[str]) -> set[Key]:
    """Take earlier versions of newly settled submissions out of the clean table; the keys they left.

    `earlier`: the ids among `allnew` stored before (any revision); only those (edited responses)
    can have an earlier version in the clean table. Call after the new winners were written to the
    clean table and before the new versions are inserted into `_submissions` (the earlier versions
    are the only `accepted` ones then)."""
    settled = status.index[status.isin(["accepted", "superseded"])]
    if not len(settled) or not earlier:
        return set()
    sids = allnew.loc[settled, "_submission_id"].astype(str)
    sub = T.submissions
    keep: dict[str, Key | None] = {}
    for idx in sids.index[sids.isin(earlier).to_numpy()]:
        keep[sids[idx]] = (typed.at[idx, "region"], typed.at[idx, "period"]) if status[idx] == "accepted" else None
    table = T.form_table(definition)
    stale = []
    for chunk in _chunks(list(keep)):
        for region, period, sid in conn.execute(sa.select(table.c.region, table.c.period, table.c._submission_id)
                                                .where(table.c._submission_id.in_(chunk))):
            if keep.get(sid) != (region, period):
                stale.append((region, period, sid))
    if not stale:
        return set()
    by_period: dict[str, list[tuple[str, str]]] = {}
    for region, period, sid in stale:
        by_period.setdefault(period, []).append((region, sid))
    for period, rows in by_period.items():  # one DELETE per period, not one per row
        for chunk in _chunks(rows):
            conn.execute(table.delete().where(table.c.period == period,
                                              table.c.region.in_([r for r, _ in chunk]),
                                              table.c._submission_id.in_({s for _, s in chunk})))
    for chunk in _chunks(sorted({sid for _, _, sid in stale})):
        conn.execute(sub.update().where(sub.c.form == definition.id, sub.c.submission_id.in_(chunk),
                                        sub.c.status == "accepted").values(status="superseded"))
    return {(region, period) for region, period, _ in stale}


def apply_deletions(conn: sa.Connection, definition: FormDefinition, source: str,
                    present: set[str]) -> tuple[int, set[Key]]:
    """Mark the submissions of `source` not in `present` deleted (every version) and take their rows out
    of the clean table. Returns (how many submissions, the keys their rows left)."""
    sub = T.submissions
    known = {r[0] for r in conn.execute(sa.select(sub.c.submission_id).distinct().where(
        sub.c.form == definition.id, sub.c.source == source, sub.c.status != "deleted"))}
    gone = sorted(known - present)
    if not gone:
        return 0, set()
    table = T.form_table(definition)
    vacated: set[Key] = set()
    for chunk in _chunks(gone):
        conn.execute(sub.update().where(sub.c.form == definition.id, sub.c.source == source,
                                        sub.c.submission_id.in_(chunk)).values(status="deleted"))
        where = (table.c._submission_id.in_(chunk), table.c._source == source)
        vacated |= {(r, p) for r, p in conn.execute(sa.select(table.c.region, table.c.period).where(*where))}
        conn.execute(table.delete().where(*where))
    return len(gone), vacated


def restore(conn: sa.Connection, definition: FormDefinition, vacated: set[Key], now) -> int:
    """Fill each key in `vacated` that is still empty with the latest valid remaining submission.

    Candidates are submissions whose newest version is `superseded` (valid, but beaten at its key);
    their raw answers go through the same check as any new batch. Returns how many rows came back."""
    from forms_sync.validation.check import check_frame
    from forms_sync.validation.resolve import latest_valid

    if not vacated:
        return 0
    table = T.form_table(definition)
    by_period: dict[str, list[str]] = {}
    for region, period in vacated:
        by_period.setdefault(period, []).append(region)
    filled: set[Key] = set()
    for period, regs in by_period.items():  # one query per period, not one per key
        for chunk in _chunks(sorted(regs)):
            filled.update((r, period) for (r,) in conn.execute(sa.select(table.c.region).where(
                table.c.period == period, table.c.region.in_(chunk))))
    open_keys = vacated - filled
    if not open_keys:
        return 0
    sub = T.submissions
    cand = pd.read_sql(sa.select(sub.c.submission_id, sub.c.revision, sub.c.source, sub.c.row, sub.c.arrival,
                                 sub.c.submitted_at, sub.c.answers)
                       .where(sub.c.form == definition.id, sub.c.status == "superseded"), conn)
    if cand.empty:
        return 0
    newest: dict[str, int] = {}
    for chunk in _chunks(sorted(set(cand["submission_id"]))):
        newest.update(conn.execute(sa.select(sub.c.submission_id, sa.func.max(sub.c.arrival))
                                   .where(sub.c.form == definition.id, sub.c.submission_id.in_(chunk))
                                   .group_by(sub.c.submission_id)).all())
    cand = cand[cand["arrival"].to_numpy() == cand["submission_id"].map(newest).to_numpy()].reset_index(drop=True)
    if cand.empty:
        return 0
    answers = [json.loads(a) for a in cand["answers"]]
    raw = pd.DataFrame({c: pd.Series([a.get(c) for a in answers], dtype="str") for c in definition.columns})
    raw["_row"] = cand["row"].fillna(0).astype("int64")
    checked = check_frame(definition, raw)
    typed = checked.typed
    at_open_key = pd.Series([(r, p) in open_keys for r, p in zip(typed["region"], typed["period"])],
                            index=typed.index)
    usable = checked.valid.reindex(typed.index, fill_value=False) & at_open_key
    if not usable.any():
        return 0
    stamps = pd.to_datetime(cand["submitted_at"])
    winners, _ = latest_valid(typed["region"], typed["period"], usable, stamps, cand["arrival"])
    rows = typed.loc[winners, definition.columns].copy()
    for f in definition.fields:
        if f.type == "date":
            rows[f.name] = pd.to_datetime(rows[f.name]).dt.date
    rows["_submitted_at"] = stamps.loc[winners].to_numpy()
    rows["_submission_id"] = cand.loc[winners, "submission_id"].to_numpy()
    rows["_source"] = cand.loc[winners, "source"].to_numpy()
    rows["_synced_at"] = now
    db.upsert(conn, table, rows, ["region", "period"])
    for sid, rev in zip(cand.loc[winners, "submission_id"], cand.loc[winners, "revision"]):
        conn.execute(sub.update().where(sub.c.form == definition.id, sub.c.submission_id == sid,
                                        sub.c.revision == rev).values(status="accepted"))
    return len(winners)
