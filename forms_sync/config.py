"""The sync config (`forms-sync.toml`): which definitions, which database, which sources per form.

Paths in the config are relative to the config file, so cron can run it from anywhere.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from forms_sync.definition.model import LOCALES
from forms_sync.errors import ConfigError

DEFAULT_DATABASE = "sqlite:///forms_sync.db"
SOURCE_TYPES = ("files", "google_form", "google_sheet")
_TOP = {"definitions", "database", "exports", "export_formats", "timezone", "sources", "google", "lock_file",
        "status"}
_SOURCE_KEYS = {
    "files": {"form", "type", "paths", "locale", "sheet", "columns", "ignore_columns", "name"},
    "google_form": {"form", "type", "name", "form_id"},
    "google_sheet": {"form", "type", "name", "spreadsheet_id", "sheet", "locale", "columns", "ignore_columns"},
}


@dataclass
class SourceConfig:
    form: str
    type: str
    options: dict
    index: int

    @property
    def name(self) -> str:
        return self.options.get("name") or f"{self.type}#{self.index + 1}"


@dataclass
class Config:
    path: Path | None
    definitions_dir: Path
    database_url: str
    exports_dir: Path
    export_formats: tuple[str, ...] = ("csv", "parquet", "xlsx")
    timezone: str = "Asia/Jakarta"
    sources: list[SourceConfig] = field(default_factory=list)
    google: dict = field(default_factory=dict)
    lock_file: Path | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path(".")


def load_config(path: str | Path | None) -> Config:
    """Read and check the TOML config; `None` means defaults (form_definitions/, forms_sync.db)."""
    if path is None:
        data, base, cpath = {}, Path("."), None
    else:
        cpath = Path(path)
        try:
            data = tomllib.loads(cpath.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{cpath}: config file not found (see README, 'Config').") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cpath}: not valid TOML: {exc}") from None
        base = cpath.parent
    where = str(cpath) if cpath else "config"
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_TOP))})")
    url = os.environ.get("FORMS_SYNC_DATABASE_URL") or data.get("database") or DEFAULT_DATABASE
    formats = tuple(data.get("export_formats", ("csv", "parquet", "xlsx")))
    bad = [f for f in formats if f not in ("csv", "parquet", "xlsx")]
    if bad:
        raise ConfigError(f"{where}: export_formats: unknown format(s) {bad}; use csv, parquet, xlsx")
    sources = []
    for i, raw in enumerate(data.get("sources", [])):
        p = f"{where}: sources[{i}]"
        if not isinstance(raw, dict) or "form" not in raw or "type" not in raw:
            raise ConfigError(f"{p}: needs `form` and `type` ({', '.join(SOURCE_TYPES)})")
        if raw["type"] not in SOURCE_TYPES:
            raise ConfigError(f"{p}.type: {raw['type']!r} is not one of {', '.join(SOURCE_TYPES)}")
        extra = sorted(set(raw) - _SOURCE_KEYS[raw["type"]])
        if extra:
            raise ConfigError(f"{p}: unknown key(s) {', '.join(extra)} for a {raw['type']} source")
        if raw["type"] == "files":
            paths = raw.get("paths")
            if isinstance(paths, str):
                raw = {**raw, "paths": [paths]}
            elif not isinstance(paths, list) or not paths:
                raise ConfigError(f"{p}.paths: a list of files or globs is required")
        _check_source_values(p, raw)
        cols = raw.get("columns", {})
        if not isinstance(cols, dict):
            raise ConfigError(f"{p}.columns: must be a table of field = \"file column\" or [columns]")
        sources.append(SourceConfig(form=raw["form"], type=raw["type"], options=raw, index=i))
    tz = data.get("timezone", "Asia/Jakarta")
    try:
        import zoneinfo
        zoneinfo.ZoneInfo(tz)
    except Exception:
        raise ConfigError(f"{where}: timezone: {tz!r} is not a known time zone (e.g. Asia/Jakarta)") from None
    return Config(
        path=cpath,
        definitions_dir=base / data.get("definitions", "form_definitions"),
        database_url=url,
        exports_dir=base / data.get("exports", "exports"),
        export_formats=formats,
        timezone=tz,
        sources=sources,
        google=data.get("google", {}),
        lock_file=(base / data["lock_file"]) if "lock_file" in data else None,
    )


def _check_source_values(where: str, raw: dict) -> None:
    """The optional settings of a source, each of the kind it must be."""
    if "locale" in raw and raw["locale"] not in LOCALES:
        raise ConfigError(f"{where}.locale: {raw['locale']!r} is not one of {', '.join(LOCALES)} "
                          "(id: 1.234,5 and 31/12/2026; en: 1,234.5)")
    for key in ("sheet", "name", "form_id", "spreadsheet_id"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise ConfigError(f"{where}.{key}: must be a non-empty text in quotes, e.g. {key} = \"...\"")
    ignore = raw.get("ignore_columns", [])
    if not isinstance(ignore, list) or not all(isinstance(c, str) for c in ignore):
        raise ConfigError(f"{where}.ignore_columns: must be a list of column headers, e.g. "
                          "ignore_columns = [\"No\", \"Keterangan\"]")


def column_mapping(options: dict) -> dict[str, list[str]]:
    """`columns = {field = "col"}` or `{field = ["code col", "name col"]}` as field -> list of columns."""
    return {k: ([v] if isinstance(v, str) else list(v)) for k, v in options.get("columns", {}).items()}
