"""Every case folder in ../shared/cases through the installed `forms-sync validate`, compared with
its expected.json by the shared checker (FORMAT.md §5)."""
from __future__ import annotations

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
