"""The same files synced into SQLite, PostgreSQL and MariaDB leave identical tables: the examples/
project (four recaps, every field type, designed faults) and a generated one with awkward text
(quotes, backslashes, tabs and line breaks, emoji, 70,000 characters, `\\N`, `NULL`).

Compared: every form table, `<form>__rejected`, `<form>__long`, `completeness`, `regions`,
`_submissions`, `_watermarks` and `_forms`, without what depends on the time of the run."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from db_servers import SERVERS, assert_same, fresh_database, snapshot
from forms_sync.definition.model import load_definitions
from forms_sync.sync import run_sync
from sync_data import write_project

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = ["examples", "generated"]


def project(name: str, folder: Path) -> Path:
    """A copy of the project to sync (never written into the repository); its config path."""
    if name == "examples":
        shutil.copytree(ROOT / "examples", folder)
        return folder / "forms-sync.toml"
    return write_project(folder, regencies=120, months=2, files=2)


def sync_into(url: str, config: Path, monkeypatch) -> dict:
    monkeypatch.setenv("FORMS_SYNC_DATABASE_URL", url)
    result = run_sync(config, export=False)
    assert result.exit_code in (0, 1) and all(f.status in ("ok", "refused") for f in result.forms), result
    return snapshot(url, load_definitions(config.parent / "form_definitions" if (config.parent / "form_definitions").exists()
                                          else config.parent / "defs").values())


@pytest.fixture(scope="module")
def sqlite_snapshots(tmp_path_factory):
    """Each project synced into SQLite once, as the reference for the servers."""
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for name in PROJECTS:
            tmp = tmp_path_factory.mktemp(name)
            with fresh_database("sqlite", tmp) as url:
                out[name] = sync_into(url, project(name, tmp / "p"), mp)
    return out


@pytest.mark.parametrize("name", PROJECTS)
@pytest.mark.parametrize("kind", SERVERS)
def test_server_tables_equal_sqlite_tables(kind, name, sqlite_snapshots, tmp_path, monkeypatch):
    with fresh_database(kind, tmp_path) as url:
        got = sync_into(url, project(name, tmp_path / "p"), monkeypatch)
    expected = sqlite_snapshots[name]
    assert expected["_submissions"] and expected["completeness"] and any("__rejected" in t and expected[t] for t in expected)
    assert_same(expected, got, f"{name}: sqlite vs {kind}")
