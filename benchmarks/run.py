"""Benchmark (issue #6): N village submissions of a 40-field form through forms-sync, Frictionless
and a raw-load floor, in one run.

    .venv/bin/pip install -e '.[bench]'                       # frictionless, psycopg, ADBC drivers
    .venv/bin/python benchmarks/run.py --rows 1000000         # the large case (data cached)
    .venv/bin/python benchmarks/run.py --rows 2000 --no-postgres --no-frictionless   # smoke (CI)

Data: a deterministic (seeded) Google-download CSV in the Indonesian locale, `Stempel waktu`
first, ~1% faulty rows (ambiguous and malformed numbers, unknown village codes, rule breaks) and
~0.5% resubmissions; plus a copy with 1,000 new submissions appended, for the incremental step.
Both are cached in --data-dir (benchmarks/data/, not committed).

Timed, each as its own process (wall time includes interpreter start and imports; peak RSS is the
process's own):
  (a) `forms-sync validate DEF FILE --format json`
  (b) `forms-sync sync --no-export` into a fresh SQLite file and a fresh PostgreSQL database, then
      again after the file grew by 1,000 submissions (incremental)
  (c) Frictionless `validate` of the same file with an equivalent Table Schema (numbers with `.`
      groups and `,` decimals and a minimum, timestamps, period enum, village codes as a foreign
      key to the village list, the rule as a row constraint, (region, period) as primary key). It
      runs in this process on a sample (--frictionless-sample rows); its rows/s is the marginal
      rate (sample minus a 200-row run, so the fixed cost of loading the village list is counted
      once) and the time for N rows is extrapolated -- the output says so.
  (d) the floor: pyarrow reads the CSV (every column as text) and bulk-loads the same rows into
      the same database with no checks (ADBC ingest when the ADBC driver is installed, else
      sqlite3 executemany / psycopg COPY).
Prints rows/s, peak RSS, the ratios a/c (validate vs Frictionless rows/s) and b/d (sync vs floor
time), and writes everything as JSON (--out, default benchmarks/results/bench_<N>.json).
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_FIELDS = 40
FORM_ID = "rekap_desa_bench"
NEW_ROWS = 1_000  # appended for the incremental step
SEED = 7
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
TARGETS = {"sync_sqlite_s_at_1M": 30, "sync_postgresql_s_at_1M": 20, "peak_rss_gb": 3,
           "validate_vs_frictionless_x": 25, "sync_vs_floor_x": 3, "incremental_share": 0.10}
DEFAULT_PG = os.environ.get("FORMS_SYNC_BENCH_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/test")


# --- data -----------------------------------------------------------------------------------------

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


def _grouped(values: np.ndarray) -> np.ndarray:
    """Non-negative integers written the Indonesian way (1.234.567), vectorised."""
    out = values.astype(str).astype(object)
    big = values >= 1000
    if big.any():
        out[big] = [f"{v:,}".replace(",", ".") for v in values[big].tolist()]
    return out


def _columns(rng: np.random.Generator, pair: np.ndarray, seconds: np.ndarray, kinds: np.ndarray,
             villages: np.ndarray) -> dict:
    """Submissions as CSV columns (text, as a Google download holds them)."""
    n = len(pair)
    region = villages[pair % len(villages)].copy()
    period = np.array([f"{m} 2026" for m in MONTHS], dtype=object)[pair // len(villages) % len(MONTHS)]
    stamps = (np.datetime64("2026-01-05T08:00:00") + seconds.astype("timedelta64[s]")).astype(object)
    cols = {"Stempel waktu": np.array([t.strftime("%d/%m/%Y %H:%M:%S") for t in stamps], dtype=object),
            "Desa/Kelurahan": region, "Periode": period}
    values = rng.integers(0, 5_000_000, size=(n, N_FIELDS - 2))
    for i in range(N_FIELDS - 2):
        text = _grouped(values[:, i])
        cols[f"Isian {i:02d}"] = text + ",5" if i % 4 == 3 else text
    cols["Jumlah A"] = _grouped(values[:, 0] + values[:, 1])
    cols["Jumlah B"] = values[:, 2].astype(str).astype(object)
    cols["Isian 05"][kinds == 0] = "1.5"  # ambiguous number
    cols["Isian 06"][kinds == 1] = "12 ribu"  # not a number
    cols["Desa/Kelurahan"][kinds == 2] = "99.99.99.9999"  # unknown village code
    cols["Jumlah A"][kinds == 3] = "1"  # rule break
    return cols


def generate(n: int, path: Path, grown: Path) -> None:
    """`path`: n submissions; `grown`: the same bytes plus NEW_ROWS later submissions."""
    import pandas as pd

    from forms_sync.reference.regions import load

    villages = np.array(load().codes_for_level("village"), dtype=object)
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(villages) * len(MONTHS))  # (village, month) pairs, each used once...
    pair = np.resize(order, n)
    resub = rng.random(n) < 0.005  # ...except ~0.5% resubmissions of an earlier pair
    pair[resub] = pair[rng.integers(0, max(1, n // 2), int(resub.sum()))]
    seconds = np.sort(rng.integers(0, 330 * 86400, n))
    kinds = np.where(rng.random(n) < 0.01, rng.integers(0, 4, n), -1)  # ~1% faulty, four kinds
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    chunk = 100_000
    for no, start in enumerate(range(0, max(n, 1), chunk)):  # bounded memory; same file at any chunk size
        part = slice(start, min(start + chunk, n))
        cols = _columns(np.random.default_rng([SEED, no]), pair[part], seconds[part], kinds[part], villages)
        pd.DataFrame(cols).to_csv(tmp, index=False, header=no == 0, mode="w" if no == 0 else "a")
    tmp.replace(path)
    new_pair = np.resize(order[n % len(order):], NEW_ROWS)  # pairs not sent yet, sent later
    new_seconds = 335 * 86400 + np.sort(rng.integers(0, 20 * 86400, NEW_ROWS))
    extra = _columns(np.random.default_rng([SEED, 10**6]), new_pair, new_seconds, np.full(NEW_ROWS, -1), villages)
    shutil.copyfile(path, grown.with_suffix(".part"))
    pd.DataFrame(extra).to_csv(grown.with_suffix(".part"), index=False, header=False, mode="a")
    grown.with_suffix(".part").replace(grown)


# --- running and measuring ------------------------------------------------------------------------

# Started by a small launcher, not forked from this process: Linux counts the RSS of the process a
# child was forked from in the child's peak RSS (ru_maxrss survives exec), so a child forked from
# this process (~1 GB after generating the data) would report at least that much.
LAUNCHER = """
import json, os, sys, time
report, args = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(args[0], args)
    except OSError as exc:
        sys.stderr.write(f"cannot run {args[0]}: {exc}\\n")
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(report, "w") as out:
    json.dump({"s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss}, out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(args: list[str], cwd: Path, env: dict | None = None, ok=(0, 1)) -> dict:
    """Run one process to its end: wall time, its own CPU time and peak RSS (wait4), exit status."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as report:
        code = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, report.name, *map(str, args)],
                              cwd=cwd, env=env, stdout=out, stderr=err).returncode
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        usage = json.loads(Path(report.name).read_text() or "{}")
    if code not in ok or not usage:
        raise SystemExit(f"{' '.join(map(str, args))} failed ({code}):\n{stderr[-3000:]}")
    return {"s": round(usage["s"], 3), "cpu_s": round(usage["cpu_s"], 3),
            "peak_rss_mb": round(usage["maxrss_kb"] / 1024), "exit": code, "stdout": stdout, "stderr": stderr}


def forms_sync_exe() -> str:
    exe = Path(sys.executable).with_name("forms-sync")
    return str(exe) if exe.exists() else shutil.which("forms-sync") or "forms-sync"


def write_config(folder: Path, database: str, source: Path) -> None:
    (folder / "defs").mkdir(exist_ok=True)
    (folder / "defs" / f"{FORM_ID}.yaml").write_text(definition_yaml(), encoding="utf-8")
    (folder / "forms-sync.toml").write_text(
        f'definitions = "defs"\ndatabase = "{database}"\nexport_formats = ["csv", "parquet"]\n'
        f'[[sources]]\nform = "{FORM_ID}"\ntype = "files"\npaths = ["{source}"]\n', encoding="utf-8")


# --- PostgreSQL scratch database ------------------------------------------------------------------

def postgres_scratch(url: str):
    """(create, drop) for a fresh database on the server of `url`, or a reason it is unusable."""
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed (pip install -e '.[bench]')"
    from sqlalchemy.engine import make_url

    base = make_url(url).set(drivername="postgresql")
    name = f"fsbench_{os.getpid()}_{int(time.time())}"
    admin = base.render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # refused, auth, missing database: skip with the reason
        return None, f"PostgreSQL not usable at {base.render_as_string(hide_password=True)}: {exc}".splitlines()[0]

    def drop():
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return (base.set(database=name).render_as_string(hide_password=False), drop), None


# --- (c) Frictionless -----------------------------------------------------------------------------

def frictionless_rate(data: Path, rows: int, sample: int, work: Path) -> dict:
    """Frictionless on the first `sample` rows (and on 200, for the fixed cost): rows/s and the
    extrapolated time for `rows`."""
    import frictionless as fl

    villages = work / "villages.csv"
    shutil.copyfile(ROOT / "forms_sync" / "reference" / "data" / "villages.csv", villages)
    fields = [{"name": "ts", "type": "datetime", "format": "%d/%m/%Y %H:%M:%S", "constraints": {"required": True}},
              {"name": "region", "type": "string", "constraints": {"required": True}},
              {"name": "period", "type": "string",
               "constraints": {"required": True, "enum": [f"{m} 2026" for m in MONTHS]}}]
    number = {"type": "number", "groupChar": ".", "decimalChar": ",", "bareNumber": True,
              "constraints": {"required": True, "minimum": 0}}
    fields += [{"name": f"f{i:02d}", **number} for i in range(N_FIELDS - 2)]
    fields += [{"name": "total_a", **number}, {"name": "total_b", **number}]
    schema = {"fields": fields, "primaryKey": ["region", "period"],
              "foreignKeys": [{"fields": ["region"], "reference": {"resource": "villages", "fields": ["code"]}}]}

    def run(k: int) -> tuple[float, int]:
        part = work / f"frictionless_{k}.csv"
        with open(data, encoding="utf-8") as src, open(part, "w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i > k:
                    break
                dst.write(line)
        package = fl.Package(basepath=str(work), resources=[  # frictionless reads only relative paths
            fl.Resource(name="submissions", path=part.name, schema=fl.Schema.from_descriptor(schema)),
            fl.Resource(name="villages", path=villages.name, schema=fl.Schema.from_descriptor(
                {"fields": [{"name": "code", "type": "string"}, {"name": "district_code", "type": "string"},
                            {"name": "name", "type": "string"}, {"name": "kind", "type": "string"}]}))])
        checklist = fl.Checklist(checks=[fl.checks.row_constraint(formula="total_a == f00 + f01")],
                                 skip_errors=["incorrect-label"])
        start = time.perf_counter()
        report = package.get_resource("submissions").validate(checklist, limit_errors=10**9)
        took = time.perf_counter() - start
        errors = report.flatten(["rowNumber", "type"])
        if any(row is None and kind not in ("incorrect-label",) for row, kind in errors):
            raise SystemExit(f"Frictionless could not validate the sample: {report.flatten(['type', 'note'])[:3]}")
        return took, len(errors)

    k = min(sample, rows)
    small, _ = run(min(200, k))
    took, errors = run(k)
    marginal = k >= 1000 and took > small * 1.2  # else the difference is noise: the plain rate
    rate = (k - 200) / (took - small) if marginal else k / took
    return {"sample_rows": k, "sample_s": round(took, 2), "fixed_s": round(small, 2), "errors_in_sample": errors,
            "rows_per_s": round(rate), "rate": "marginal" if marginal else "plain", "extrapolated": k < rows,
            "s_for_all_rows": round((small if marginal else 0) + rows / rate, 1)}


# --- (d) the floor --------------------------------------------------------------------------------

def floor_main(kind: str, data: Path, target: str) -> None:
    """Child process: read the CSV with pyarrow (all text) and bulk-load it with no checks."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    import csv

    with open(data, encoding="utf-8", newline="") as fh:
        cols = [f"c{i}" for i in range(len(next(csv.reader(fh))))]
    table = pacsv.read_csv(data, read_options=pacsv.ReadOptions(column_names=cols, skip_rows=1),
                           convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in cols}))
    method = None
    try:
        if kind == "sqlite":
            import adbc_driver_sqlite.dbapi as adbc
        else:
            import adbc_driver_postgresql.dbapi as adbc
        with adbc.connect(target) as conn, conn.cursor() as cur:
            cur.adbc_ingest("raw_load", table, mode="create")
            conn.commit()
        method = f"pyarrow + ADBC ingest ({kind})"
    except ImportError:
        if kind == "sqlite":
            import sqlite3
            conn = sqlite3.connect(target)
            conn.execute(f"CREATE TABLE raw_load ({', '.join(c + ' TEXT' for c in cols)})")
            conn.executemany(f"INSERT INTO raw_load VALUES ({', '.join('?' * len(cols))})",
                             zip(*(table.column(c).to_pylist() for c in cols)))
            conn.commit()
            method = "pyarrow + sqlite3 executemany"
        else:
            import psycopg
            with psycopg.connect(target) as conn, conn.cursor() as cur:
                cur.execute(f"CREATE TABLE raw_load ({', '.join(c + ' text' for c in cols)})")
                with cur.copy("COPY raw_load FROM STDIN") as copy:
                    for row in zip(*(table.column(c).to_pylist() for c in cols)):
                        copy.write_row(row)
            method = "pyarrow + psycopg COPY"
    print(json.dumps({"method": method, "rows": table.num_rows}))


# --- the run --------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "benchmarks" / "data")
    ap.add_argument("--out", type=Path, help="JSON results (default benchmarks/results/bench_<rows>.json)")
    ap.add_argument("--postgres-url", default=DEFAULT_PG, help="server and maintenance database "
                    "(a scratch database is created and dropped there)")
    ap.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    ap.add_argument("--no-frictionless", action="store_true", help="skip Frictionless")
    ap.add_argument("--frictionless-sample", type=int, default=20_000)
    ap.add_argument("--floor", nargs=3, metavar=("KIND", "CSV", "TARGET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor:
        return floor_main(args.floor[0], Path(args.floor[1]), args.floor[2])

    n = args.rows
    data = args.data_dir / f"village_{n}.csv"
    grown = args.data_dir / f"village_{n}_plus{NEW_ROWS}.csv"
    definition = args.data_dir / f"{FORM_ID}.yaml"
    args.data_dir.mkdir(parents=True, exist_ok=True)
    definition.write_text(definition_yaml(), encoding="utf-8")
    if not data.exists() or not grown.exists():
        t = time.perf_counter()
        generate(n, data, grown)
        print(f"generated {n:,} rows ({data.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    # As an installed package is: byte-compiled (an editable checkout with PYTHONDONTWRITEBYTECODE
    # would otherwise compile every module at every start).
    compileall.compile_dir(ROOT / "forms_sync", quiet=1)

    exe, py = forms_sync_exe(), sys.executable
    res: dict = {"rows": n, "fields": N_FIELDS, "file_mb": round(data.stat().st_size / 1e6, 1),
                 "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                 "command": " ".join([Path(py).name, "benchmarks/run.py", *sys.argv[1:]]), "notes": []}
    with tempfile.TemporaryDirectory(prefix="fsbench_") as tmp:
        tmp = Path(tmp)
        # (a) validate
        v = run_child([exe, "validate", str(definition), str(data), "--format", "json"], tmp)
        report = json.loads(v.pop("stdout"))
        assert report["rows"] == n, report["rows"]
        res["validate"] = {**{k: v[k] for k in ("s", "cpu_s", "peak_rss_mb")}, "rows_per_s": round(n / v["s"]),
                           "accepted": report["accepted"], "rejected": report["rejected"],
                           "superseded": report["superseded"]}

        # (b) sync, (d) floor, per database
        targets = {"sqlite": (f"sqlite:///{tmp / 'sync.db'}", f"{tmp / 'floor.db'}", None)}
        if args.no_postgres:
            res["notes"].append("PostgreSQL skipped (--no-postgres)")
        else:
            made, why = postgres_scratch(args.postgres_url)
            if made is None:
                res["notes"].append(f"PostgreSQL skipped: {why}")
            else:
                url, drop = made
                targets["postgresql"] = (url, url, drop)
        for kind, (url, floor_target, drop) in targets.items():
            try:
                res[f"sync_{kind}"] = sync_steps(kind, exe, url, data, grown, tmp / kind, n)
                f = run_child([py, __file__, "--floor", kind, str(data), floor_target], tmp, ok=(0,))
                info = json.loads(f.pop("stdout").strip().splitlines()[-1])
                res[f"floor_{kind}"] = {"s": f["s"], "cpu_s": f["cpu_s"], "peak_rss_mb": f["peak_rss_mb"],
                                        "rows_per_s": round(n / f["s"]), "method": info["method"]}
                res[f"sync_{kind}"]["vs_floor_x"] = round(res[f"sync_{kind}"]["s"] / f["s"], 2)
            finally:
                if drop is not None:
                    drop()

        # (c) Frictionless
        if args.no_frictionless:
            res["notes"].append("Frictionless skipped (--no-frictionless)")
        else:
            try:
                import frictionless  # noqa: F401
            except ImportError:
                res["notes"].append("Frictionless skipped: not installed (pip install -e '.[bench]')")
            else:
                fr = frictionless_rate(data, n, args.frictionless_sample, tmp)
                res["frictionless"] = fr
                res["validate"]["vs_frictionless_x"] = round(res["validate"]["rows_per_s"] / fr["rows_per_s"], 2)
                if fr["extrapolated"]:
                    res["notes"].append(f"Frictionless ran on the first {fr['sample_rows']:,} rows; its rows/s is "
                                        f"the marginal rate and its time for {n:,} rows is extrapolated")
    peaks = [v["peak_rss_mb"] for k, v in res.items() if isinstance(v, dict) and v.get("peak_rss_mb")]
    peaks += [s["peak_rss_mb"] for k, v in res.items() if k.startswith("sync_") for s in v["steps"].values()]
    res["peak_rss_mb_max"] = max(peaks) if peaks else None
    res["targets"] = TARGETS
    out = args.out or ROOT / "benchmarks" / "results" / f"bench_{n}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print_summary(res)
    print(f"results: {out}")


def sync_steps(kind: str, exe: str, url: str, data: Path, grown: Path, folder: Path, n: int) -> dict:
    """First sync of the file into an empty database, then again after it grew by NEW_ROWS."""
    folder.mkdir()
    source = folder / "responses.csv"
    shutil.copyfile(data, source)
    write_config(folder, url, source)
    first = run_child([exe, "sync", "--no-export", "--format", "json"], folder)
    counts = json.loads(first.pop("stdout"))["forms"][0]
    shutil.copyfile(grown, source)
    again = run_child([exe, "sync", "--no-export", "--format", "json"], folder)
    counts2 = json.loads(again.pop("stdout"))["forms"][0]
    steps = {"first": {k: first[k] for k in ("s", "cpu_s", "peak_rss_mb")},
             "incremental": {k: again[k] for k in ("s", "cpu_s", "peak_rss_mb")}}
    return {"s": first["s"], "rows_per_s": round(n / first["s"]), "steps": steps,
            "accepted": counts["accepted"], "rejected": counts["rejected"], "superseded": counts["superseded"],
            "incremental_new": counts2["new"], "incremental_share": round(again["s"] / first["s"], 3)}


def print_summary(res: dict) -> None:
    n = res["rows"]
    print(f"\n{n:,} submissions x {res['fields']} fields ({res['file_mb']} MB CSV), {res['machine']['cpus']} CPUs")
    print(f"{'step':38} {'s':>8} {'rows/s':>10} {'peak RSS MB':>12}")
    v = res["validate"]
    print(f"{'(a) forms-sync validate':38} {v['s']:>8.2f} {v['rows_per_s']:>10,} {v['peak_rss_mb']:>12,}")
    for kind in ("sqlite", "postgresql"):
        s = res.get(f"sync_{kind}")
        if not s:
            continue
        first, inc = s["steps"]["first"], s["steps"]["incremental"]
        print(f"{'(b) forms-sync sync -> ' + kind:38} {first['s']:>8.2f} {s['rows_per_s']:>10,} {first['peak_rss_mb']:>12,}")
        print(f"{'    again, +' + str(NEW_ROWS) + ' new rows':38} {inc['s']:>8.2f} {'':>10} {inc['peak_rss_mb']:>12,}"
              f"   ({s['incremental_share']:.0%} of the first sync)")
        f = res[f"floor_{kind}"]
        print(f"{'(d) floor -> ' + kind:38} {f['s']:>8.2f} {f['rows_per_s']:>10,} {f['peak_rss_mb']:>12,}"
              f"   ({f['method']})")
        print(f"{'    sync / floor (b/d)':38} {s['vs_floor_x']:>8.2f}x")
    fr = res.get("frictionless")
    if fr:
        label = "(c) Frictionless" + (" (extrapolated)" if fr["extrapolated"] else "")
        print(f"{label:38} {fr['s_for_all_rows']:>8.1f} {fr['rows_per_s']:>10,} {'':>12}")
        print(f"{'    validate / Frictionless (a/c)':38} {v['vs_frictionless_x']:>8.1f}x")
    for note in res["notes"]:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
