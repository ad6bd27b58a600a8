"""The benchmark (benchmarks/run.py, issue #6) runs end to end at a small N.

A smoke test: it checks that every step runs and reports consistent counts, not the speed. The
PostgreSQL and Frictionless steps run when a server / the package is there and are skipped by the
script itself, with a note, when not.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = 2_000


def test_benchmark_runs_at_small_n(tmp_path):
    out = tmp_path / "bench.json"
    args = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--rows", str(ROWS),
            "--data-dir", str(tmp_path / "data"), "--out", str(out), "--frictionless-sample", "1000"]
    run = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    res = json.loads(out.read_text(encoding="utf-8"))

    assert res["rows"] == ROWS and res["fields"] == 40
    v = res["validate"]
    assert v["rows_per_s"] > 0 and v["peak_rss_mb"] > 0
    assert v["accepted"] + v["rejected"] + v["superseded"] == ROWS
    assert 0 < v["rejected"] < ROWS * 0.03  # ~1% faulty rows

    for kind in ("sqlite", "postgresql"):
        if f"sync_{kind}" not in res:
            assert kind == "postgresql" and any("PostgreSQL skipped" in n for n in res["notes"]), res["notes"]
            continue
        s = res[f"sync_{kind}"]
        # the database agrees with validate, and the grown file adds exactly its new rows
        assert (s["accepted"], s["rejected"], s["superseded"]) == (v["accepted"], v["rejected"], v["superseded"])
        assert s["incremental_new"] == 1_000
        assert s["vs_floor_x"] > 0 and res[f"floor_{kind}"]["rows_per_s"] > 0

    if "frictionless" in res:
        assert res["frictionless"]["rows_per_s"] > 0 and res["validate"]["vs_frictionless_x"] > 0
        assert res["frictionless"]["errors_in_sample"] > 0  # the equivalent schema finds the faults
    else:
        assert any("Frictionless skipped" in n for n in res["notes"]), res["notes"]
    assert "(a) forms-sync validate" in run.stdout


def test_a_step_reports_its_own_peak_rss_not_the_benchmarks(tmp_path):
    """Linux counts the RSS of the process a child is forked from in the child's ru_maxrss; the
    benchmark holds ~1 GB after generating data, so steps must not be forked from it directly."""
    spec = importlib.util.spec_from_file_location("benchmark_run", ROOT / "benchmarks" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    held = b"\x01" * (400 << 20)  # 400 MB resident in this process while the step runs
    step = bench.run_child([sys.executable, "-c", "import sys; sys.exit(1)"], tmp_path)
    assert len(held) and step["exit"] == 1 and 0 < step["peak_rss_mb"] < 200
    assert step["s"] > 0 and step["cpu_s"] >= 0
