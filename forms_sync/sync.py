"""The sync job: sources -> one validation path -> one transaction per form -> exports.

For each form: read its sources as raw batches, keep only submissions not seen before, check
them, settle resubmissions against what is already accepted, then write `_submissions`, the
clean table, the rejected table and the source watermarks in ONE transaction. A failure before
the commit leaves the database exactly as it was; a re-run picks up where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from forms_sync import logs, revisions
from forms_sync.config import Config, SourceConfig, column_mapping, load_config
from forms_sync.definition.model import FormDefinition, load_definitions
from forms_sync.errors import (EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE, EXIT_USAGE, ConfigError,
                               FormsSyncError, UnreadableSource)
from forms_sync.sources.base import RawBatch, answers_json, file_problem, read_ahead
from forms_sync.sources.files import FileRead, FileSource, StreamBroken
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
        with sync_lock(engine, cfg.lock_file), db.translate_errors(engine):
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
            try:
                result = _sync_forms(engine, cfg, definitions, by_form, names, run_id, export=export, full=full)
            except BaseException as exc:  # a bug or Ctrl-C: the run is over, not running
                _end_run(engine, run_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
                raise
            with engine.begin() as conn:
                conn.execute(T.sync_runs.update().where(T.sync_runs.c.id == run_id).values(
                    finished_at=db.utcnow(),
                    status={EXIT_OK: "ok", EXIT_REFUSED: "refused"}.get(result.exit_code, "failed"),
                    counts=json.dumps({r.form: _counts(r) for r in result.forms}, ensure_ascii=False),
                    api_calls=sum(r.api_calls for r in result.forms),
                    drift=json.dumps([d for r in result.forms for d in r.drift], ensure_ascii=False) or None))
            return result
    finally:
        engine.dispose()


def _end_run(engine: sa.Engine, run_id: int, status: str) -> None:
    """Mark a run that stopped on an unexpected error; the error itself is what the caller sees."""
    try:
        with engine.begin() as conn:
            conn.execute(T.sync_runs.update().where(T.sync_runs.c.id == run_id)
                         .values(finished_at=db.utcnow(), status=status))
    except Exception:  # noqa: BLE001 (the database may be what failed; the next run marks it)
        log.debug("run %s could not be marked %s", run_id, status, exc_info=True)


def _sync_forms(engine: sa.Engine, cfg: Config, definitions: dict, by_form: dict, names: list[str],
                run_id: int, *, export: bool, full: bool) -> SyncResult:
    """Each form in its own transaction, then its exports."""
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
    return SyncResult(run_id, results)


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


def read_sources(cfg: Config, definition: FormDefinition, sources, watermarks: dict[str, str], full: bool,
                 result: FormResult) -> tuple[list[RawBatch], list[FileRead], dict[str, str]]:
    """Fetch the Google sources (their batches and new watermarks) and list the files whose content
    changed (read later, inside the transaction, a part at a time)."""
    batches: list[RawBatch] = []
    reads: list[FileRead] = []
    new_marks: dict[str, str] = {}
    for src in sources:
        if isinstance(src, FileSource):
            todo, entries = src.reads(watermarks, full)
            result.files.extend(entries)
            reads.extend(todo)
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
    return batches, reads, new_marks


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
        fetched, reads, new_marks = read_sources(cfg, definition, sources_for(cfg, definition, sources), marks,
                                                 full, result)
        log.debug("form %s: %d batch(es) and %d file(s) to store in one transaction", definition.id,
                  len(fetched), len(reads))
        with db.translate_errors(engine), engine.begin() as conn, ThreadPoolExecutor(2, thread_name_prefix="stage") as pool:
            run = _Run(run_id, db.utcnow(), lookup=_any_stored(conn, definition.id),
                       written=set() if _empty(conn, T.form_table(definition)) else None, pool=pool)
            for batch in fetched:
                entry = _entry(batch.source)
                _store_batch(conn, definition, batch, run, result, entry)
                result.files.append(entry)
                run.lookup = True
            for item in reads:
                mark = _store_file(conn, cfg, definition, item, run, result)
                if mark is not None:
                    new_marks[item.label] = mark
                run.lookup = True
            _settle(conn, definition, fetched, new_marks, run, result)
            # the completeness rows the data implies, committed with it (touched periods only)
            update_completeness(conn, definition, cfg.timezone,
                                pd.concat(run.touched, ignore_index=True) if run.touched else _keys(set()))
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


@dataclass
class _Run:
    """What the batches stored in one form's transaction share."""

    run_id: int
    now: object
    lookup: bool  # False while nothing stored can share an id with the batch (first file of a first sync)
    arrivals: int = 0  # arrival numbers handed out so far (they order every new row of the run)
    touched: list = field(default_factory=list)  # (region, period) frames whose rows may have changed
    # "region<0x1F>period" of the clean rows written in this run, when the clean table was empty
    # before it (None otherwise): no other key can hold a row, so only these are looked up
    written: set[str] | None = None
    analyzed: bool = False  # the planner's statistics were refreshed after a large first batch
    pool: ThreadPoolExecutor | None = None  # stages rows for the database while others are written


def _entry(source: str) -> dict:
    return {"source": source, "rows": 0, "new": 0, "status": "read", "problems": []}


def _empty(conn: sa.Connection, table: sa.Table) -> bool:
    return conn.execute(sa.select(*table.primary_key.columns).limit(1)).first() is None


def _any_stored(conn: sa.Connection, form: str) -> bool:
    sub = T.submissions
    return conn.execute(sa.select(sub.c.form).where(sub.c.form == form).limit(1)).first() is not None


def _store_file(conn: sa.Connection, cfg: Config, definition: FormDefinition, item: FileRead, run: _Run,
                result: FormResult) -> str | None:
    """Store one changed file inside a savepoint; returns its new watermark (None: unreadable).

    A file read in parts that turns out to need the whole-file reader (StreamBroken) is rolled back
    and stored again from one whole read, so it ends exactly as if it had been read whole."""
    def earlier(ids: list[str]) -> dict[str, int]:
        return _occurrences_stored(conn, definition.id, item.label, ids)

    kept, arrivals = len(run.touched), run.arrivals

    def roll_back() -> None:
        savepoint.rollback()
        del run.touched[kept:]
        run.arrivals = arrivals

    part, entry = FormResult(form=definition.id), _entry(item.label)
    savepoint = conn.begin_nested()
    try:
        try:
            if item.appended_only:  # small, and its reader asks the database (earlier): in this thread
                for batch in item.batches(definition, cfg.timezone, earlier):
                    _store_batch(conn, definition, batch, run, part, entry)
            else:
                fresh = not run.lookup  # nothing stored can share an id with it: check every row ahead
                for batch, prepared in _ahead(item.batches(definition, cfg.timezone),
                                              lambda b: _prepare(definition, b) if fresh else None):
                    _store_batch(conn, definition, batch, run, part, entry, prepared)
        except StreamBroken:
            roll_back()
            log.info("form %s: %s is read whole", definition.id, item.label)
            part, entry = FormResult(form=definition.id), _entry(item.label)
            savepoint = conn.begin_nested()
            _store_batch(conn, definition, item.whole(definition, cfg.timezone), run, part, entry)
    except UnreadableSource as exc:
        roll_back()
        problem = file_problem("unreadable_file", reason=str(exc))
        result.files.append({"source": item.label, "status": "unreadable", "rows": 0, "problems": [problem.to_dict()]})
        result.exit_code = max(result.exit_code, EXIT_UNREADABLE)
        return None
    savepoint.commit()
    for name in (*COUNTS, "deleted"):
        setattr(result, name, getattr(result, name) + getattr(part, name))
    result.files.append(entry)
    return item.watermark()


def _ahead(batches: Iterator[RawBatch], prepare) -> Iterator[tuple[RawBatch, object]]:
    """(batch, prepare(batch)) for each batch, the next one read and prepared by a worker thread
    while this one is written: parsing and checking (mostly Arrow kernels, which release the GIL)
    overlap the database's work. The worker's exceptions (StreamBroken too) arrive here."""
    return read_ahead((batch, prepare(batch)) for batch in batches)


@dataclass
class _Prepared:
    """What can be worked out for a batch before the database is asked, when every row is new."""

    checked: object  # check_frame of the batch (None for a refused file)
    answers: pd.Series  # the `_submissions.answers` JSON of each row


def _prepare(definition: FormDefinition, batch: RawBatch) -> _Prepared:
    frame = batch.frame
    checked = check_frame(definition, frame) if len(frame) and not batch.failed else None
    return _Prepared(checked, answers_json(frame, [c for c in definition.columns if c in frame]))


def _occurrences_stored(conn: sa.Connection, form: str, source: str, ids: list[str]) -> dict[str, int]:
    """How often each row id occurs among the stored rows of `source` (the part of a grown file that
    an earlier sync read): id, then id#1, id#2... as base.submission_ids numbers repeats."""
    sub = T.submissions
    counts: dict[str, int] = {}
    for i in range(0, len(ids), db.CHUNK):
        for (sid,) in conn.execute(sa.select(sub.c.submission_id).distinct().where(
                sub.c.form == form, sub.c.source == source, sub.c.submission_id.in_(ids[i:i + db.CHUNK]))):
            counts[sid] = 1
    for sid in counts:  # repeats of one row in one file: rare
        while conn.execute(sa.select(sub.c.submission_id).where(
                sub.c.form == form, sub.c.source == source, sub.c.submission_id == hashlib.blake2b(
                    f"{sid}#{counts[sid]}".encode(), digest_size=16).hexdigest()).limit(1)).first():
            counts[sid] += 1
    return counts


def _store_batch(conn: sa.Connection, definition: FormDefinition, batch: RawBatch, run: _Run, result: FormResult,
                 entry: dict, prepared: _Prepared | None = None) -> None:
    """Store the submissions of one batch not stored before; counts go to `result` and `entry`.
    `prepared`: worked out ahead for the whole batch (used when every row is new)."""
    frame = batch.frame
    if "_revision" not in frame:
        frame["_revision"] = "1"
    ids, revs = frame["_submission_id"].astype(str), frame["_revision"].astype(str)
    # A submission is known by (id, revision): an edited Google response keeps its id, gets a new revision.
    known, stored_ids = _known(conn, definition.id, ids, revs) if run.lookup else (np.zeros(len(frame), bool), set())
    fresh = ~known
    entry["rows"] += batch.rows
    entry["new"] += int(fresh.sum())
    if batch.failed:
        entry["status"] = "refused"
    if not entry["problems"]:
        entry["problems"] = [p.to_dict() for p in batch.problems]
    result.read += batch.rows
    result.unchanged += int(known.sum())
    new = frame[fresh].copy()
    new["_failed"] = batch.failed
    if len(new):
        result.new += len(new)
        run.touched.append(_store_new(conn, definition, batch, new.reset_index(drop=True), run, result, stored_ids,
                                      prepared if fresh.all() else None))
        if len(new) >= 10_000 and not run.analyzed:  # the tables may have been small when last measured
            db.analyze(conn, T.submissions, T.form_table(definition))
            run.analyzed = True


def _known(conn: sa.Connection, form: str, ids: pd.Series, revs: pd.Series) -> tuple[np.ndarray, set[str]]:
    """Which (id, revision) pairs are stored already, and which of the ids are (any revision)."""
    sub = T.submissions
    found = db.rows_matching(conn, sub, pd.DataFrame({"submission_id": ids.astype(object)}),
                             ["submission_id", "revision"], sub.c.form == form)
    if found.empty:
        return np.zeros(len(ids), bool), set()
    pairs = set(zip(found["submission_id"], found["revision"]))
    known = np.fromiter(((i, r) in pairs for i, r in zip(ids.tolist(), revs.tolist())), dtype=bool, count=len(ids))
    return known, set(found["submission_id"])


def _settle(conn: sa.Connection, definition: FormDefinition, fetched: list[RawBatch], new_marks: dict[str, str],
            run: _Run, result: FormResult) -> None:
    """After every batch is stored: deletions seen in complete listings, keys they left refilled,
    and the sources' watermarks."""
    if result.new:
        new_marks = {**new_marks, EXPORTS_PENDING: str(run.run_id)}  # cleared once the exports are written
    vacated: set = set()
    for batch in fetched:
        if batch.complete:  # a full listing: what its source no longer has was deleted there
            gone, left = revisions.apply_deletions(conn, definition, batch.source,
                                                   set(batch.frame["_submission_id"].astype(str)))
            result.deleted += gone
            vacated |= left
            run.touched.append(_keys(left))
    if vacated:
        revisions.restore(conn, definition, vacated, run.now)
        new_marks = {**new_marks, EXPORTS_PENDING: str(run.run_id)}
    for label, value in new_marks.items():
        db.upsert(conn, T.watermarks, pd.DataFrame([{"form": definition.id, "source": label, "value": value,
                                                      "updated_at": run.now}]), ["form", "source"])


def _keys(keys) -> pd.DataFrame:
    """(region, period) pairs as a frame."""
    keys = list(keys)
    return pd.DataFrame({"region": pd.Series([k[0] for k in keys], dtype=object),
                         "period": pd.Series([k[1] for k in keys], dtype=object)})


def _existing_rows(conn: sa.Connection, table: sa.Table, keys: pd.DataFrame, run: _Run) -> pd.DataFrame:
    """(region, period, _submitted_at, _submission_id) of the clean rows at these keys."""
    keys = keys[["region", "period"]].astype(object)
    if run.written is not None:
        maybe = np.fromiter((k in run.written for k in _key_text(keys)), dtype=bool, count=len(keys))
        keys = keys[maybe]
    return db.rows_matching(conn, table, keys, ["region", "period", "_submitted_at", "_submission_id"])


def _key_text(keys: pd.DataFrame) -> list[str]:
    return (keys["region"].astype(str) + "\x1f" + keys["period"].astype(str)).tolist()


def _store_new(conn, definition, batch: RawBatch, allnew: pd.DataFrame, run: _Run, result: FormResult,
               stored_ids: set[str], prepared: _Prepared | None = None) -> pd.DataFrame:
    """Store the new rows of one batch; returns the (region, period) keys they (or earlier versions
    they moved away from) touch: those of checked rows, of refused rows as the completeness reads
    them, and the keys left. `stored_ids`: the batch's ids stored before (any revision)."""
    ok = ~allnew["_failed"].astype(bool)
    checked = prepared.checked if prepared is not None else None
    if prepared is None and ok.any():
        checked = check_frame(definition, allnew[ok])
    valid = pd.Series(False, index=allnew.index)
    if checked is not None:
        valid.loc[checked.valid.index] = checked.valid
    arrival = run.run_id * 10**10 + run.arrivals + np.arange(len(allnew), dtype="int64")
    run.arrivals += len(allnew)
    allnew["_arrival"] = arrival
    status = pd.Series("rejected", index=allnew.index, dtype=object)
    now = run.now

    table = T.form_table(definition)
    vacated: set = set()  # keys an edited response left (revisions.retire_moved)
    if checked is not None and valid.any():
        typed = checked.typed
        winners, lost = latest_valid(typed["region"], typed["period"], valid[checked.valid.index],
                                     allnew.loc[checked.valid.index, "_submitted_at"], allnew.loc[checked.valid.index, "_arrival"])
        status.loc[lost] = "superseded"
        cand = typed.loc[winners].join(allnew.loc[winners, ["_submitted_at", "_submission_id", "_source"]])
        existing = _existing_rows(conn, table, cand, run)
        # Stored rows arrived earlier (in earlier runs, or earlier parts of this one): they join as
        # the oldest arrivals, so the one rule of latest_valid (later time wins; no time counts as
        # oldest; ties go to the later arrival) settles new submissions against stored ones too.
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
        _displace(conn, definition, existing["_submission_id"].iloc[beaten[beaten < n_old]].tolist(), run, result)
        rows = typed.loc[win_idx, definition.columns].copy()
        for f in definition.fields:
            if f.type == "date":
                rows[f.name] = pd.to_datetime(rows[f.name]).dt.date
        rows["_submitted_at"] = db.naive_utc(allnew.loc[win_idx, "_submitted_at"]).to_numpy()
        rows["_submission_id"] = allnew.loc[win_idx, "_submission_id"].to_numpy()
        rows["_source"] = allnew.loc[win_idx, "_source"].to_numpy()
        rows["_synced_at"] = now
        # keys with no stored row take a plain insert (PostgreSQL: COPY straight into the table)
        occupied = pd.MultiIndex.from_frame(rows[["region", "period"]]).isin(
            pd.MultiIndex.from_frame(existing[["region", "period"]].astype(object)))
    else:
        rows = occupied = None

    # Every status is settled: the new clean rows and the `_submissions` rows are staged side by side
    # in workers; the latter are stored after revisions.retire_moved has read the revisions stored before.
    write_rows = db.insert_later(conn, table, rows[~occupied], order=["region", "period"],
                                 pool=run.pool) if rows is not None else None
    write_submissions = db.insert_later(conn, T.submissions, _submission_rows(definition, allnew, status, run, prepared),
                                        order=["submission_id"], pool=run.pool)
    if rows is not None:
        write_rows()
        db.upsert(conn, table, rows[occupied], ["region", "period"])
        if run.written is not None:
            run.written.update(_key_text(rows))
        vacated = revisions.retire_moved(conn, definition, allnew, checked.typed, status, stored_ids)
    write_submissions()
    revisions.restore(conn, definition, vacated, now)

    rejected = _rejected_rows(definition, batch, allnew, checked, status, now)
    if len(rejected):
        db.insert(conn, T.rejected_table(definition), rejected)
    result.accepted += int((status == "accepted").sum())
    result.rejected += int((status == "rejected").sum())
    result.superseded += int((status == "superseded").sum())
    touched = [_keys(vacated)]
    if checked is not None:
        touched.append(checked.typed[["region", "period"]].astype(object))
    refused = status == "rejected"
    if refused.any() and "region" in allnew and "period" in allnew:
        touched.append(rejected_keys(definition, allnew.loc[refused, "region"], allnew.loc[refused, "period"]))
    return pd.concat(touched, ignore_index=True).dropna().drop_duplicates()


def _submission_rows(definition: FormDefinition, allnew: pd.DataFrame, status: pd.Series, run: _Run,
                     prepared: _Prepared | None) -> pd.DataFrame:
    """The `_submissions` rows of a batch's new submissions."""
    return pd.DataFrame({
        "form": definition.id,
        "submission_id": allnew["_submission_id"],
        "revision": allnew["_revision"].astype(str),
        "source": allnew["_source"],
        "row": allnew["_row"].astype("int64"),
        "arrival": allnew["_arrival"],
        "received_at": run.now,
        "submitted_at": db.naive_utc(allnew["_submitted_at"]),
        "answers": prepared.answers if prepared is not None else answers_json(
            allnew, [c for c in definition.columns if c in allnew]),
        "status": status,
        "run_id": run.run_id,
    })


def _displace(conn: sa.Connection, definition: FormDefinition, displaced: list[str], run: _Run,
              result: FormResult) -> None:
    """Mark stored winners beaten by new rows superseded. One accepted earlier in this same run (an
    earlier part of the file) counts as superseded, not as an update, as a one-piece read counts it."""
    if not displaced:
        return
    sub = T.submissions
    this_run = 0
    for i in range(0, len(displaced), db.CHUNK):
        where = (sub.c.form == definition.id, sub.c.submission_id.in_(displaced[i:i + db.CHUNK]),
                 sub.c.status == "accepted")
        this_run += conn.execute(sa.select(sa.func.count()).where(*where, sub.c.run_id == run.run_id)).scalar_one()
        conn.execute(sub.update().where(*where).values(status="superseded"))
    result.updated += len(displaced) - this_run
    result.accepted -= this_run
    result.superseded += this_run


def _rejected_rows(definition, batch, allnew, checked, status, now) -> pd.DataFrame:
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
        for prob in batch.problems:
            if prob.level == "error":
                parts.append(pd.DataFrame({"index": failed, "field": prob.field, "value": prob.value,
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
