"""Crash safety: SIGKILL a sync at random moments, rerun it, and the database equals one from an
uninterrupted run: nothing lost, nothing doubled.

Each sync runs in its own process started from a fork server that has the modules imported
already, so the random moments fall on the work rather than on Python's start-up. The process runs
the CLI itself (`forms-sync --log-format json --log-level debug sync`); its log tells where each
kill landed. Kills are drawn two ways: at a random moment after the process started (start-up,
table creation, the region dimension, reading, completeness, ...), or a random moment after a form
announced its transaction (inside the transaction that writes submissions, the clean and rejected
rows and the watermarks). The input: 3,500 rows over six files and two forms.
"""
from __future__ import annotations

import csv
import json
import multiprocessing
import os
import random
import sqlite3
import time

import pytest
import sqlalchemy as sa

from db_servers import assert_same, fresh_database, snapshot
from sync_data import write_project

KILLS = 20
KILLS_PER_ROUND = 5  # then the round's database is synced to the end and compared
EXIT_LOCKED = 75


def _sync_process(config: str, log_path: str) -> None:
    """The body of one sync process: the CLI, logging JSON to log_path."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 2)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.chdir(os.path.dirname(config))
    from forms_sync.cli import main
    main(["--log-format", "json", "--log-level", "debug", "sync", "--no-export", "--config", config])


@pytest.fixture(scope="module")
def processes():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["forms_sync.cli", "forms_sync.sync", "forms_sync.sources.files", "psycopg",
                                "kill_preload"])
    warm_up = ctx.Process(target=int)  # starts the fork server, so timings below are the syncs' own
    warm_up.start()
    warm_up.join()
    return ctx


def start(ctx, config, log):
    p = ctx.Process(target=_sync_process, args=(str(config), str(log)))
    p.start()
    return p


def log_lines(log) -> list[dict]:
    try:
        text = log.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def storing(lines: list[dict]) -> bool:
    """A form announced a transaction with something to write, and has not reported its result."""
    last = [e for e in lines if e["message"].startswith("form ")]
    return bool(last) and "to store in one transaction" in last[-1]["message"] and \
        not last[-1]["message"].endswith(": 0 batch(es) and 0 file(s) to store in one transaction")


def run_to_end(ctx, config, log) -> int:
    """Rerun until a run finishes (a just-killed run's server session may hold the lock a moment)."""
    for _ in range(100):
        p = start(ctx, config, log)
        p.join(120)
        if p.exitcode != EXIT_LOCKED:
            return p.exitcode
        time.sleep(0.1)
    raise AssertionError("the lock of a killed run was never released")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigkill_at_random_moments_loses_and_doubles_nothing(kind, processes, tmp_path):
    rng = random.Random(int(os.environ.get("FORMS_SYNC_KILL_SEED", "20261203")))
    project = tmp_path / "project"
    config = write_project(project, regencies=514, months=6, files=4)
    from forms_sync.definition.model import load_definitions
    definitions = list(load_definitions(project / "defs").values())

    with fresh_database(kind, tmp_path) as url:
        config.write_text(config.read_text().replace("definitions =", f'database = "{url}"\ndefinitions ='))
        started = time.monotonic()
        assert run_to_end(processes, config, tmp_path / "clean.log") == 1  # some rows are refused on purpose
        clean_seconds = time.monotonic() - started
        expected = snapshot(url, definitions)
    assert len(expected["rekap_sekolah"]) > 2500 and len(expected["_submissions"]) > 3500

    kills, inside, rounds = 0, 0, 0
    while kills < KILLS:
        rounds += 1
        with fresh_database(kind, tmp_path) as url:
            config.write_text("\n".join(line if not line.startswith("database =") else f'database = "{url}"'
                                        for line in config.read_text().splitlines()))
            finished, in_round = False, 0
            while in_round < KILLS_PER_ROUND and not finished:
                log = tmp_path / f"run_{rounds:02d}_{in_round}.log"
                p = start(processes, config, log)
                if rng.random() < 0.5:  # anywhere in the run (that is still to be done)
                    p.join(rng.uniform(0, clean_seconds * 0.9))
                else:  # inside a form's transaction
                    while p.is_alive() and not storing(log_lines(log)):
                        time.sleep(0.005)
                    p.join(rng.uniform(0, 0.6))
                if not p.is_alive():  # it ended first: complete, or refused by a dying run's lock
                    finished = p.exitcode in (0, 1)
                    continue
                p.kill()  # SIGKILL
                p.join()
                kills, in_round = kills + 1, in_round + 1
                inside += storing(log_lines(log))
            if not finished:
                assert run_to_end(processes, config, tmp_path / f"round_{rounds}.log") in (0, 1)
            assert_same(expected, snapshot(url, definitions), f"{kind}, round {rounds}, after {kills} kills")
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                statuses = [r[0] for r in conn.exec_driver_sql("SELECT status FROM _sync_runs")]
            engine.dispose()
            assert "running" not in statuses and statuses.count("interrupted") <= kills
    print(f"{kind}: {kills} kills in {rounds} rounds, {inside} inside a form's transaction")
    assert inside >= KILLS // 4, f"only {inside} of {kills} kills landed inside a transaction"


def test_data_committed_but_never_exported_is_exported_by_the_next_run(run_cli, tmp_path):
    """A run killed between its commit and its export files (here: --no-export) leaves a marker in
    the same transaction as the data; the next run exports although nothing is new, then clears it."""
    config = write_project(tmp_path, regencies=5, months=1, files=1, provinces=2)
    assert run_cli("sync", "--no-export", "--config", config).returncode == 0
    assert not (tmp_path / "exports").exists()
    assert run_cli("sync", "--config", config).returncode == 0
    export = tmp_path / "exports" / "rekap_sekolah.csv"
    with sqlite3.connect(tmp_path / "forms_sync.db") as conn:
        accepted = conn.execute("SELECT count(*) FROM rekap_sekolah").fetchone()[0]
    with open(export, encoding="utf-8", newline="") as fh:
        assert accepted == len(list(csv.DictReader(fh))) == 5
    before = export.stat().st_mtime_ns
    assert run_cli("sync", "--config", config).returncode == 0
    assert export.stat().st_mtime_ns == before  # marker cleared: nothing to redo
