"""Every case folder in ../shared/cases through the installed `forms-sync validate`, compared with
its expected.json by the shared checker (FORMAT.md §5)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import CASES, SHARED, cli_path

pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is absent (bare clone): "
                                "the shared cases cannot run here")


def case_dirs():
    return sorted(p.name for p in CASES.iterdir() if p.is_dir()) if CASES.is_dir() else []


@pytest.mark.parametrize("case", case_dirs())
def test_shared_case(case, tmp_path):
    """Runs one case with the shared checker so its comparison is exactly the contract's."""
    sys.path.insert(0, str(SHARED / "tools"))
    try:
        import run_cases
    finally:
        sys.path.pop(0)
    problems = run_cases.check(str(CASES / case), cli_path())
    assert problems == [], f"{case}: {problems}"


def test_all_cases_via_shared_runner():
    """The shared runner itself, as the before-stop hook runs it."""
    p = subprocess.run([sys.executable, str(SHARED / "tools" / "run_cases.py"), str(CASES), cli_path()],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert " 0 failed" in p.stdout
