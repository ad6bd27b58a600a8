"""Every CLI command as a plain function a test or a notebook can call."""
from __future__ import annotations

import json
from pathlib import Path

from forms_sync.exports import write_csv_atomic
from forms_sync.canonical import canonical_frame
from forms_sync.definition.model import FormDefinition, load_definition, load_definitions
from forms_sync.errors import DefinitionError, FormsSyncError
from forms_sync.messages import render
from forms_sync.sources.files import StreamBroken, read_file, read_parts
from forms_sync.validation.outcome import Outcome, validate_batch, validate_parts


def validate_file(definition: str | Path | FormDefinition, path: str | Path, *, locale: str | None = None,
                  timezone: str = "Asia/Jakarta", clean_out: str | Path | None = None) -> Outcome:
    """`forms-sync validate`: check one file; optionally write the accepted rows as canonical CSV."""
    d = definition if isinstance(definition, FormDefinition) else load_definition(definition)
    outcome = None
    parts = read_parts(d, path, locale=locale, timezone=timezone)  # a large UTF-8 CSV: in parts
    if parts is not None:
        try:
            outcome = validate_parts(d, parts, keep_typed=clean_out is not None)
        except StreamBroken:  # a file-level problem: the whole-file reader reports it
            outcome = None
    if outcome is None:
        outcome = validate_batch(d, read_file(d, path, locale=locale, timezone=timezone, ids=False))
    if clean_out is not None:
        accepted = outcome.accepted_frame()
        write_csv_atomic(canonical_frame(d, accepted), Path(clean_out), for_people=False)
    return outcome


def unreadable_report(definition_path, path, exc: FormsSyncError) -> str:
    """The JSON report of a file that cannot be read at all (exit 3): one `unreadable_file` error."""
    try:
        form = load_definition(definition_path).id
    except DefinitionError:
        form = None
    mid, men = render("unreadable_file", reason=str(exc))
    return json.dumps({"form": form, "file": str(path), "rows": 0, "accepted": 0, "rejected": 0,
                       "superseded": 0, "superseded_rows": [],
                       "errors": [{"row": None, "field": None, "value": None, "code": "unreadable_file",
                                   "level": "error", "message_id": mid, "message_en": men}]},
                      ensure_ascii=False, indent=2)


def check_definitions(paths, config=None) -> list[FormDefinition]:
    """`forms-sync check`: load every definition given (files or folders); raise listing every problem."""
    if not paths:
        if config is not None:
            from forms_sync.config import load_config
            paths = [load_config(config).definitions_dir]
        else:
            paths = [Path("form_definitions")]
    found: list[FormDefinition] = []
    errors: list[str] = []
    for p in map(Path, paths):
        try:
            if p.is_dir():
                found.extend(load_definitions(p).values())
            else:
                found.append(load_definition(p))
        except DefinitionError as exc:
            errors.extend(exc.problems if not exc.path else str(exc).splitlines())
    if errors:
        raise DefinitionError.combined(errors)
    if not found:
        raise DefinitionError.combined([f"{', '.join(map(str, paths))}: no form definition (*.yaml) found"])
    return found


def find_definition(form: str, config=None, definitions_dir=None) -> FormDefinition:
    """A definition by id (or by path) from the config's or the given definitions folder."""
    if Path(form).suffix in (".yaml", ".yml"):
        return load_definition(form)
    if definitions_dir is None:
        from forms_sync.config import load_config
        cfg_path = config if config is not None else (Path("forms-sync.toml") if Path("forms-sync.toml").exists() else None)
        definitions_dir = load_config(cfg_path).definitions_dir
    found = load_definitions(definitions_dir)
    if form not in found:
        from forms_sync.errors import ConfigError
        raise ConfigError(f"no form {form!r} in {definitions_dir} (known: {', '.join(sorted(found)) or 'none'})")
    return found[form]


def status_report(config, form: str, period: str | None = None) -> dict:
    """`forms-sync status`: completeness per period as a plain dict (also the --format json output)."""
    from dataclasses import asdict

    from forms_sync.config import load_config
    from forms_sync.status import form_status
    from forms_sync.store.database import ensure_base, ensure_form_tables, open_engine

    cfg = load_config(config)
    d = find_definition(form, config, cfg.definitions_dir)
    engine = open_engine(cfg.database_url)
    try:
        ensure_base(engine)  # a status before the first sync shows every region missing
        with engine.begin() as conn:
            ensure_form_tables(conn, d)
        rows = form_status(engine, d, cfg.timezone, period)
    finally:
        engine.dispose()
    return {"form": d.id, "respondent": d.respondent, "periods": [{**asdict(r), "accepted": r.accepted} for r in rows]}
