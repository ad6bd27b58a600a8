"""The sync job: sources -> one validation path -> one transaction per form -> exports.

For each form: read its sources as raw batches, keep only submissions not seen before, check
them, settle resubmissions against what is already accepted, then write `_submissions`, the
clean table, the rejected table and the source watermarks in ONE transaction. A failure before
the commit leaves the database exactly as it was; a re-run picks up where it stopped.
"""
from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from forms_sync import logs, revisions
from forms_sync.config import Config, SourceConfig, column_mapping, load_config
from forms_sync.definition.model import FormDefinition, load_definitions
from forms_sync.errors import (EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE, EXIT_USAGE, ConfigError,
                               FormsSyncError)
from forms_sync.sources.base import RawBatch, answers_json
from forms_sync.sources.files import FileSource
from forms_sync.store import database as db
from forms_sync.store import tables as T
from forms_sync.status import rejected_keys, update_completeness
from forms_sync.exports import export_form
from forms_sync.store.lock import sync_lock
from forms_sync.validation.check import check_frame
from forms_sync.validation.resolve import latest_valid

log = logging.getLogger("forms_sync.sync")
COUNTS = ("read", "new", "updated", "unchanged", "accepted", "rejected", "superseded")
EXPORTS_PENDING = "(exports pending)"  # a _watermarks row: committed data not yet exported


@dataclass
class FormResult:
    form: str
    status: str = "ok"  # ok | refused (rows or files refused) | failed (nothing committed) | unchanged
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    accepted: int = 0
    rejected: int = 0
    superseded: int = 0
    deleted: int = 0  # google_form with --full: responses deleted in Google (status "deleted", row removed)
    api_calls: int = 0
    message: str | None = None
    exit_code: int = EXIT_OK
    files: list[dict] = field(default_factory=list)  # per batch: source, rows, new, problems (file-level)
    drift: list[dict] = field(default_factory=list)


@dataclass
class SyncResult:
    run_id: int
    forms: list[FormResult]

    @property
    def exit_code(self) -> int:
        codes = [f.exit_code for f in self.forms]
        for code in (EXIT_UNREADABLE, EXIT_USAGE, EXIT_REFUSED):
            if code in codes:
                return code
        return EXIT_OK


def run_sync(config: Config | str | Path | None, forms: list[str] | None = None, *, full: bool = False,
             export: bool = True) -> SyncResult:
    """`forms-sync sync`: sync every configured form (or those named); returns per-form results."""
    cfg = config if isinstance(config, Config) else load_config(config)
    definitions = load_definitions(cfg.definitions_dir)
    by_form: dict[str, list[SourceConfig]] = {}
    for s in cfg.sources:
        if s.form not in definitions:
            raise ConfigError(f"{cfg.path}: sources[{s.index}].form: no definition {s.form!r} in "
                              f"{cfg.definitions_dir} (known: {', '.join(sorted(definitions)) or 'none'})")
        unknown = sorted(set(column_mapping(s.options)) - set(definitions[s.form].columns))
        if unknown:
            raise ConfigError(f"{cfg.path}: sources[{s.index}].columns: {', '.join(map(repr, unknown))} "
                              f"is not a field of {s.form} (fields: {', '.join(definitions[s.form].columns)})")
        by_form.setdefault(s.form, []).append(s)
    names = forms or list(by_form)
    for n in names:
        if n not in by_form:
            raise ConfigError(f"form {n!r} has no source in the config; known: {', '.join(by_form) or 'none'}")
    engine = db.open_engine(cfg.database_url)
    try:
        with sync_lock(engine, cfg.lock_file), db.translate_errors():
            db.ensure_base(engine)
            with engine.begin() as conn:
                db.load_regions(conn)
                # we hold the lock, so a run still marked running was killed
                conn.execute(T.sync_runs.update().where(T.sync_runs.c.status == "running")
                             .values(status="interrupted"))
                run_id = conn.execute(T.sync_runs.insert().values(
                    started_at=db.utcnow(), status="running", api_calls=0, host=socket.gethostname(),
                    pid=os.getpid())).inserted_primary_key[0]
            logs.bind(sync_run=run_id)
            log.info("sync run %s started: %s, forms %s", run_id, db.mask_url(cfg.database_url), ", ".join(names))
            results = []
            for name in names:
                res = sync_form(engine, cfg, definitions[name], by_form[name], run_id, full=full)
                results.append(res)
                counts = {k: getattr(res, k) for k in COUNTS}
                log.info("form %s: %s; %s", name, res.status, ", ".join(f"{v} {k}" for k, v in counts.items()),
                         extra={"form": name, "status": res.status, "counts": counts})
                if export and res.status != "failed":
                    try:
                        export_form(engine, definitions[name], cfg.exports_dir, cfg.export_formats,
                                    force=res.new > 0 or _exports_pending(engine, name))
                        _exports_done(engine, name)
                    except OSError as exc:  # disk full, no permission: the data is safe in the database
                        res.exit_code = max(res.exit_code, EXIT_UNREADABLE)
                        res.message = (f"exports of {name} could not be written ({exc.strerror}: {exc.filename}); "
                                       "the data is committed and the next sync writes them again")
                        log.error("form %s: %s", name, res.message)
            result = SyncResult(run_id, results)
            with engine.begin() as conn:
                conn.execute(T.sync_runs.update().where(T.sync_runs.c.id == run_id).values(
                    finished_at=db.utcnow(),
                    status={EXIT_OK: "ok", EXIT_REFUSED: "refused"}.get(result.exit_code, "failed"),
                    counts=json.dumps({r.form: _counts(r) for r in results}, ensure_ascii=False),
                    api_calls=sum(r.api_calls for r in results),
                    drift=json.dumps([d for r in results for d in r.drift], ensure_ascii=False) or None))
            return result
    finally:
        engine.dispose()


def _exports_pending(engine: sa.Engine, form: str) -> bool:
    """True when data committed by an earlier run never reached the export files (it was killed)."""
    w = T.watermarks
    with engine.connect() as conn:
        return conn.execute(sa.select(w.c.value).where(w.c.form == form, w.c.source == EXPORTS_PENDING)).first() is not None


def _exports_done(engine: sa.Engine, form: str) -> None:
    w = T.watermarks
    with engine.begin() as conn:
        conn.execute(w.delete().where(w.c.form == form, w.c.source == EXPORTS_PENDING))


def _counts(r: FormResult) -> dict:
    d = asdict(r)
    d.pop("drift")
    return d


def sources_for(cfg: Config, definition: FormDefinition, sources: list[SourceConfig]):
    """The source objects for a form's configured sources."""
    out = []
    for s in sources:
        o = s.options
        if s.type == "files":
            out.append(FileSource(form=s.form, paths=list(o["paths"]), locale=o.get("locale"), sheet=o.get("sheet"),
                                  columns=column_mapping(o), ignore_columns=list(o.get("ignore_columns", [])),
                                  base_dir=cfg.base_dir, name=s.name))
        else:
            from forms_sync.sources.google import google_source
            out.append(google_source(cfg, definition, s))
    return out


def read_batches(cfg: Config, definition: FormDefinition, sources, watermarks: dict[str, str], full: bool,
                 result: FormResult) -> tuple[list[RawBatch], dict[str, str]]:
    """Read every source; unchanged files (same content hash as last committed) are skipped."""
    batches: list[RawBatch] = []
    new_marks: dict[str, str] = {}
    for src in sources:
        if isinstance(src, FileSource):
            got, marks, entries = src.fetch(definition, cfg.timezone, watermarks, full)
            result.files.extend(entries)
            if any(e["status"] == "unreadable" for e in entries):
                result.exit_code = max(result.exit_code, EXIT_UNREADABLE)
            batches.extend(got)
            new_marks.update(marks)
        else:
            try:
                batch_list, marks, calls = src.fetch(watermarks, full=full)
            except FormsSyncError as exc:  # the calls made before it failed still spent quota
                result.api_calls += getattr(exc, "api_calls", 0)
                raise
            result.api_calls += calls
            result.drift.extend(d for b in batch_list for d in b.drift)
            batches.extend(batch_list)
            new_marks.update(marks)
    return batches, new_marks


def sync_form(engine: sa.Engine, cfg: Config, definition: FormDefinition, sources: list[SourceConfig],
              run_id: int, *, full: bool = False) -> FormResult:
    """Sync one form in one transaction. Errors are caught here so the other forms still sync."""
    result = FormResult(form=definition.id)
    try:
        with engine.begin() as conn:
            db.ensure_form_tables(conn, definition)
        with engine.connect() as conn:
            marks = dict(conn.execute(sa.select(T.watermarks.c.source, T.watermarks.c.value)
                                      .where(T.watermarks.c.form == definition.id)).all())
        batches, new_marks = read_batches(cfg, definition, sources_for(cfg, definition, sources), marks, full, result)
        log.debug("form %s: storing %d batch(es) in one transaction", definition.id, len(batches))
        with db.translate_errors(), engine.begin() as conn:
            touched = _store(conn, definition, batches, new_marks, run_id, result)
            # the completeness rows the data implies, committed with it (touched periods only)
            update_completeness(conn, definition, cfg.timezone, touched)
    except FormsSyncError as exc:
        result.status, result.message, result.exit_code = "failed", str(exc), exc.exit_code
        result.new = result.accepted = result.rejected = result.superseded = result.updated = 0
        log.error("form %s: %s", definition.id, exc)
        return result
    if result.exit_code == EXIT_OK and (result.rejected or any(f.get("status") == "refused" for f in result.files)):
        result.exit_code = EXIT_REFUSED
    result.status = {EXIT_OK: "ok", EXIT_REFUSED: "refused"}.get(result.exit_code, "failed")
    if result.status == "failed" and result.exit_code == EXIT_UNREADABLE:
        result.status = "partial"  # readable files were synced; unreadable ones are listed
    return result


def _store(conn: sa.Connection, definition: FormDefinition, batches: list[RawBatch], new_marks: dict[str, str],
           run_id: int, result: FormResult) -> pd.DataFrame:
    """Write the new submissions; returns the (region, period) keys whose clean or refused rows may
    have changed (for the completeness)."""
    now = db.utcnow()
    touched: list[pd.DataFrame] = []
    # A submission is known by (id, revision): an edited Google response keeps its id, gets a new revision.
    known = _known_keys(conn, definition.id)
    frames = []
    for b_no, batch in enumerate(batches):
        if "_revision" not in batch.frame:
            batch.frame["_revision"] = "1"
        keys = batch.frame["_submission_id"].astype(str) + "\x1f" + batch.frame["_revision"].astype(str)
        seen = pc.is_in(_large_text(keys), value_set=known).to_numpy(zero_copy_only=False)
        fresh = pd.Series(~seen, index=keys.index)
        entry = {"source": batch.source, "rows": batch.rows, "new": int(fresh.sum()),
                 "status": "refused" if batch.failed else "read",
                 "problems": [p.to_dict() for p in batch.problems]}
        result.files.append(entry)
        result.read += batch.rows
        result.unchanged += int((~fresh).sum())
        part = batch.frame[fresh].copy()
        part["_failed"] = batch.failed
        part["_batch"] = b_no
        known = pa.concat_arrays([known, _large_text(keys[fresh])])
        frames.append(part)
    allnew = pd.concat(frames, ignore_index=False, keys=range(len(frames))) if frames else pd.DataFrame()
    if len(allnew):
        allnew = allnew.reset_index(drop=True)
    result.new = len(allnew)
    if result.new:
        touched.append(_store_new(conn, definition, batches, allnew, run_id, now, result))
        new_marks = {**new_marks, EXPORTS_PENDING: str(run_id)}  # cleared once the exports are written
    vacated: set = set()
    for batch in batches:
        if batch.complete:  # a full listing: what its source no longer has was deleted there
            gone, left = revisions.apply_deletions(conn, definition, batch.source,
                                                   set(batch.frame["_submission_id"].astype(str)))
            result.deleted += gone
            vacated |= left
            touched.append(_keys(left))
    if vacated:
        revisions.restore(conn, definition, vacated, now)
        new_marks = {**new_marks, EXPORTS_PENDING: str(run_id)}
    for label, value in new_marks.items():
        db.upsert(conn, T.watermarks, pd.DataFrame([{"form": definition.id, "source": label, "value": value,
                                                      "updated_at": now}]), ["form", "source"])
    return pd.concat(touched, ignore_index=True) if touched else _keys(set())


def _keys(keys) -> pd.DataFrame:
    """(region, period) pairs as a frame."""
    keys = list(keys)
    return pd.DataFrame({"region": pd.Series([k[0] for k in keys], dtype=object),
                         "period": pd.Series([k[1] for k in keys], dtype=object)})


def _known_keys(conn: sa.Connection, form: str) -> pa.Array:
    """'id<0x1F>revision' of every stored submission of the form, for a hash look-up by Arrow (a
    Python set of a million keys, and pandas' isin over it, cost seconds per sync)."""
    sub = T.submissions
    rows = conn.execute(sa.select(sub.c.submission_id, sub.c.revision).where(sub.c.form == form)).all()
    if not rows:
        return pa.array([], type=pa.large_string())
    ids, revisions = zip(*rows)
    return pc.binary_join_element_wise(_large_text(ids), _large_text([str(r) for r in revisions]),
                                       pa.scalar("\x1f", pa.large_string()))


def _large_text(values) -> pa.Array:
    arr = pa.array(values, type=pa.large_string())
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _existing_rows(conn: sa.Connection, table: sa.Table, regions: pd.Series) -> pd.DataFrame:
    """(region, period, _submitted_at, _submission_id) of the clean table, for the candidates'
    regions only when they are few (a sync of 1,000 new rows need not read a million)."""
    columns = [table.c.region, table.c.period, table.c._submitted_at, table.c._submission_id]
    wanted = regions.dropna().unique().tolist()
    if len(wanted) > 50_000:
        return pd.read_sql(sa.select(*columns), conn)
    parts = [pd.read_sql(sa.select(*columns).where(table.c.region.in_(wanted[i:i + db.CHUNK])), conn)
             for i in range(0, len(wanted), db.CHUNK)]
    return pd.concat(parts, ignore_index=True) if parts else pd.read_sql(sa.select(*columns).where(sa.false()), conn)


def _store_new(conn, definition, batches, allnew: pd.DataFrame, run_id: int, now, result: FormResult) -> pd.DataFrame:
    """Store the new rows; returns the (region, period) keys they (or earlier versions they moved
    away from) touch: those of checked rows, of refused rows as the completeness reads them, and the
    keys left."""
    cols = [c for c in definition.columns if c in allnew]
    ok = ~allnew["_failed"].astype(bool)
    checked = check_frame(definition, allnew[ok]) if ok.any() else None
    valid = pd.Series(False, index=allnew.index)
    if checked is not None:
        valid.loc[checked.valid.index] = checked.valid
    arrival = run_id * 10**10 + np.arange(len(allnew), dtype="int64")
    allnew["_arrival"] = arrival
    status = pd.Series("rejected", index=allnew.index, dtype=object)

    table = T.form_table(definition)
    vacated: set = set()  # keys an edited response left (revisions.retire_moved)
    if checked is not None and valid.any():
        typed = checked.typed
        winners, lost = latest_valid(typed["region"], typed["period"], valid[checked.valid.index],
                                     allnew.loc[checked.valid.index, "_submitted_at"], allnew.loc[checked.valid.index, "_arrival"])
        status.loc[lost] = "superseded"
        cand = typed.loc[winners].join(allnew.loc[winners, ["_submitted_at", "_submission_id", "_source"]])
        existing = _existing_rows(conn, table, cand["region"])
        # Stored rows arrived in earlier runs: they join as the oldest arrivals, so the one rule of
        # latest_valid (later time wins; no time counts as oldest; ties go to the later arrival)
        # settles new submissions against stored ones too.
        n_old = len(existing)
        stored_ts = pd.to_datetime(existing["_submitted_at"]).dt.tz_localize("UTC")
        pool = pd.DataFrame({
            "region": pd.concat([existing["region"], cand["region"]], ignore_index=True),
            "period": pd.concat([existing["period"], cand["period"]], ignore_index=True),
            "ts": pd.concat([stored_ts, cand["_submitted_at"]], ignore_index=True),
            "order": np.r_[np.full(n_old, -1, dtype="int64"), allnew.loc[cand.index, "_arrival"].to_numpy()],
        })
        won, beaten = latest_valid(pool["region"], pool["period"], pd.Series(True, index=pool.index),
                                   pool["ts"], pool["order"])
        win_idx = cand.index[won[won >= n_old] - n_old]
        status.loc[win_idx] = "accepted"
        status.loc[cand.index[beaten[beaten >= n_old] - n_old]] = "superseded"
        displaced = existing["_submission_id"].iloc[beaten[beaten < n_old]].tolist()
        result.updated = len(displaced)
        if displaced:
            for i in range(0, len(displaced), db.CHUNK):
                conn.execute(T.submissions.update().where(T.submissions.c.form == definition.id)
                             .where(T.submissions.c.submission_id.in_(displaced[i:i + db.CHUNK]))
                             .where(T.submissions.c.status == "accepted").values(status="superseded"))
        rows = typed.loc[win_idx, definition.columns].copy()
        for f in definition.fields:
            if f.type == "date":
                rows[f.name] = pd.to_datetime(rows[f.name]).dt.date
        rows["_submitted_at"] = db.naive_utc(allnew.loc[win_idx, "_submitted_at"]).to_numpy()
        rows["_submission_id"] = allnew.loc[win_idx, "_submission_id"].to_numpy()
        rows["_source"] = allnew.loc[win_idx, "_source"].to_numpy()
        rows["_synced_at"] = now
        db.upsert(conn, table, rows, ["region", "period"])
        vacated = revisions.retire_moved(conn, definition, allnew, typed, status)

    subs = pd.DataFrame({
        "form": definition.id,
        "submission_id": allnew["_submission_id"],
        "revision": allnew["_revision"].astype(str),
        "source": allnew["_source"],
        "row": allnew["_row"].astype("int64"),
        "arrival": allnew["_arrival"],
        "received_at": now,
        "submitted_at": db.naive_utc(allnew["_submitted_at"]),
        "answers": answers_json(allnew, cols),  # json.dumps per row, built column-wise
        "status": status,
        "run_id": run_id,
    })
    db.insert(conn, T.submissions, subs)
    revisions.restore(conn, definition, vacated, now)

    rejected = _rejected_rows(definition, batches, allnew, checked, status, now)
    if len(rejected):
        db.insert(conn, T.rejected_table(definition), rejected)
    result.accepted = int((status == "accepted").sum())
    result.rejected = int((status == "rejected").sum())
    result.superseded = int((status == "superseded").sum())
    touched = [_keys(vacated)]
    if checked is not None:
        touched.append(checked.typed[["region", "period"]].astype(object))
    refused = status == "rejected"
    if refused.any() and "region" in allnew and "period" in allnew:
        touched.append(rejected_keys(definition, allnew.loc[refused, "region"], allnew.loc[refused, "period"]))
    return pd.concat(touched, ignore_index=True).dropna().drop_duplicates()


def _rejected_rows(definition, batches, allnew, checked, status, now) -> pd.DataFrame:
    """One row per error of each refused submission; a failed file's error is given to each of its rows."""
    parts = []
    meta = allnew[["_submission_id", "_row", "_submitted_at", "_source"]].copy()
    meta["region_text"] = allnew["region"] if "region" in allnew else None
    meta["period_text"] = allnew["period"] if "period" in allnew else None
    if checked is not None and len(checked.problems):
        p = checked.problems[checked.problems["level"] == "error"]
        parts.append(p[["index", "field", "value", "code", "message_id", "message_en"]])
    failed = allnew.index[allnew["_failed"].astype(bool)]
    if len(failed):
        for b_no, grp in allnew.loc[failed].groupby("_batch"):
            for prob in batches[b_no].problems:
                if prob.level != "error":
                    continue
                parts.append(pd.DataFrame({"index": grp.index, "field": prob.field, "value": prob.value,
                                           "code": prob.code, "message_id": prob.message_id,
                                           "message_en": prob.message_en}))
    if not parts:
        return pd.DataFrame()
    errs = pd.concat(parts, ignore_index=True)
    m = meta.loc[errs["index"]].reset_index(drop=True)
    return pd.DataFrame({
        "_submission_id": m["_submission_id"], "row": m["_row"].astype("int64"),
        "region_text": m["region_text"], "period_text": m["period_text"],
        "field": errs["field"], "value": errs["value"], "code": errs["code"],
        "message_id": errs["message_id"], "message_en": errs["message_en"],
        "_submitted_at": db.naive_utc(m["_submitted_at"]), "_source": m["_source"], "_synced_at": now,
    })
