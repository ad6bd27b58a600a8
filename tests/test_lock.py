"""One sync at a time: a second run exits 75 naming the holder and since when; when the holder is
killed (SIGKILL: no chance to clean up) the next run takes the lock over and says so."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

from conftest import cli_path
from db_servers import database_url  # noqa: F401  (fixture)
from sync_data import write_project

HOLDER = textwrap.dedent("""
    import sys, time
    from forms_sync.store.database import open_engine
    from forms_sync.store.lock import sync_lock
    engine = open_engine(sys.argv[1])
    with sync_lock(engine, None):
        print("locked", flush=True)
        time.sleep(120)
""")


def run(config, *args):
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("FORMS_SYNC_DATABASE_URL", None)
    return subprocess.run([cli_path(), *args, "sync", "--no-export", "--config", str(config)], capture_output=True,
                          text=True, env=env, timeout=120, cwd=config.parent)


def start_holder(url, cwd):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True, cwd=cwd)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_second_run_exits_75_and_a_killed_holder_is_taken_over(database_url, tmp_path):
    if database_url.startswith("sqlite:///"):
        database_url = f"sqlite:///{tmp_path / 'fs.db'}"
    config = write_project(tmp_path, regencies=4, months=1, files=1, provinces=2, database=database_url)
    holder = start_holder(database_url, tmp_path)
    try:
        p = run(config)
        assert p.returncode == 75, p.stderr
        line = p.stderr.strip()
        assert f"process {holder.pid} on {socket.gethostname()} (forms-sync sync), since 20" in line, line
        assert "UTC" in line and "try again" in line and len(line.splitlines()) == 1

        p = run(config, "--log-format", "json")  # the same refusal as one JSON log line
        entry = json.loads(p.stderr.strip())
        assert p.returncode == 75 and entry["exit"] == 75 and str(holder.pid) in entry["message"] and entry["run_id"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    for _ in range(50):  # the server notices the dead client's socket within moments
        p = run(config)
        if p.returncode != 75:
            break
        time.sleep(0.1)
    assert p.returncode == 0, p.stderr
    assert f"took over the lock from process {holder.pid}" in p.stderr and "ended without releasing it" in p.stderr

    p = run(config)  # released cleanly this time: nothing to take over
    assert p.returncode == 0 and "took over" not in p.stderr, p.stderr
