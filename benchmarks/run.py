"""Benchmark: N synthetic village submissions for a 40-field form, timed through validate and sync.

    python benchmarks/run.py --rows 100000            # generate (cached) and time
    python benchmarks/run.py --rows 2000 --out r.json # small smoke run (CI)

The data is deterministic (seeded): Google-download CSV in the Indonesian locale, ~1% faulty rows
(bad numbers, unknown codes, rule breaks) and ~0.5% resubmissions. Prints rows/s and peak RSS.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
N_FIELDS = 40
FORM_ID = "rekap_desa_bench"


def definition_yaml() -> str:
    lines = [f"id: {FORM_ID}", "version: 1", "title: Rekap Desa (benchmark)", "respondent: village",
             "period: monthly", "due_days: 10", "locale: id", "fields:"]
    for i in range(N_FIELDS - 2):
        kind = "number" if i % 4 == 3 else "integer"
        lines.append(f"- {{name: f{i:02d}, label: Isian {i:02d}, type: {kind}, min: 0}}")
    lines.append("- {name: total_a, label: Jumlah A, type: integer, min: 0}")
    lines.append("- {name: total_b, label: Jumlah B, type: integer, min: 0}")
    lines += ["rules:", "- name: total_a_b", "  check: total_a == f00 + f01",
              "  message: Jumlah A harus sama dengan Isian 00 ditambah Isian 01."]
    return "\n".join(lines) + "\n"


def generate(n: int, path: Path, seed: int = 7) -> None:
    """Write a deterministic Google-download CSV of n submissions."""
    from forms_sync.reference.regions import load

    rng = np.random.default_rng(seed)
    villages = np.array(load().codes_for_level("village"))
    months = [f"{m} 2026" for m in ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
                                     "September", "Oktober", "November", "Desember")]
    # unique (village, month) pairs, then ~0.5% resubmissions of earlier pairs
    pair = rng.permutation(len(villages) * len(months))[:n]
    resub = rng.random(n) < 0.005
    pair[resub] = pair[rng.integers(0, max(1, n // 2), resub.sum())]
    region = villages[pair % len(villages)]
    period = np.array(months)[pair // len(villages) % len(months)]
    base = pd.Timestamp("2026-01-05 08:00:00")
    stamps = (base + pd.to_timedelta(np.sort(rng.integers(0, 330 * 86400, n)), unit="s")).strftime("%d/%m/%Y %H:%M:%S")
    cols = {"Stempel waktu": stamps, "Desa/Kelurahan": region, "Periode": period}
    values = rng.integers(0, 5_000_000, size=(n, N_FIELDS - 2))
    for i in range(N_FIELDS - 2):
        v = values[:, i]
        if i % 4 == 3:
            cols[f"Isian {i:02d}"] = [f"{x:,}".replace(",", ".") + ",5" for x in v]
        else:
            cols[f"Isian {i:02d}"] = [f"{x:,}".replace(",", ".") for x in v]
    total = values[:, 0] + values[:, 1]
    cols["Jumlah A"] = [f"{x:,}".replace(",", ".") for x in total]
    cols["Jumlah B"] = [str(x) for x in values[:, 2]]
    frame = pd.DataFrame(cols)
    faulty = np.flatnonzero(rng.random(n) < 0.01)
    kinds = rng.integers(0, 3, len(faulty))
    frame.loc[faulty[kinds == 0], "Isian 05"] = "1.5"  # ambiguous number
    frame.loc[faulty[kinds == 1], "Desa/Kelurahan"] = "99.99.99.9999"  # unknown region
    frame.loc[faulty[kinds == 2], "Jumlah A"] = "1"  # rule break
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def peak_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def timed_cli(args: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int]:
    exe = str(Path(sys.executable).with_name("forms-sync"))
    start = time.perf_counter()
    p = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, env=env)
    if p.returncode not in (0, 1):
        raise SystemExit(f"forms-sync {' '.join(args)} failed ({p.returncode}): {p.stderr[-2000:]}")
    return time.perf_counter() - start, p.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args()
    n = args.rows
    data = args.data_dir / f"village_{n}.csv"
    definition = args.data_dir / f"{FORM_ID}.yaml"
    args.data_dir.mkdir(parents=True, exist_ok=True)
    definition.write_text(definition_yaml(), encoding="utf-8")
    if not data.exists():
        t = time.perf_counter()
        generate(n, data)
        print(f"generated {n:,} rows ({data.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
    results: dict = {"rows": n, "fields": N_FIELDS, "file_mb": round(data.stat().st_size / 1e6, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        secs, _ = timed_cli(["validate", str(definition), str(data), "--format", "json"], tmp)
        results["validate_s"] = round(secs, 2)
        results["validate_rows_per_s"] = round(n / secs)
        defs = tmp / "defs"
        defs.mkdir()
        (defs / f"{FORM_ID}.yaml").write_text(definition_yaml(), encoding="utf-8")
        (tmp / "forms-sync.toml").write_text(
            f'definitions = "defs"\ndatabase = "sqlite:///{tmp}/bench.db"\nexport_formats = ["csv", "parquet"]\n'
            f'[[sources]]\nform = "{FORM_ID}"\ntype = "files"\npaths = ["{data}"]\n', encoding="utf-8")
        secs, _ = timed_cli(["sync", "--no-export"], tmp)
        results["sync_sqlite_s"] = round(secs, 2)
        results["sync_sqlite_rows_per_s"] = round(n / secs)
        secs, _ = timed_cli(["sync", "--no-export"], tmp)
        results["sync_sqlite_rerun_s"] = round(secs, 2)
    results["peak_rss_mb_children"] = round(peak_rss_mb(children=True))
    for k, v in results.items():
        print(f"{k:28} {v:>12,}" if isinstance(v, (int, float)) else f"{k:28} {v}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
