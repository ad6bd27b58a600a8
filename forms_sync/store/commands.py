"""`forms-sync migrate`: the CLI shell over store.migrate (registered by forms_sync.cli)."""
from __future__ import annotations

import logging
from pathlib import Path

import click

log = logging.getLogger("forms_sync.migrate")


def migrate_form(config_path, form: str, renames: dict[str, str], *, dry_run: bool = False) -> list[str]:
    """Plan and (unless dry_run) apply the migration of one form; returns the steps, one line each."""
    from forms_sync.commands import find_definition
    from forms_sync.config import load_config
    from forms_sync.store import database as db
    from forms_sync.store.lock import sync_lock
    from forms_sync.store.migrate import apply_migration, plan_migration

    cfg = load_config(config_path)
    definition = find_definition(form, config_path, cfg.definitions_dir)
    engine = db.open_engine(cfg.database_url)
    try:
        with sync_lock(engine, cfg.lock_file, command=f"migrate {form}"), db.translate_errors(engine):
            db.ensure_base(engine)
            with engine.begin() as conn:
                plan = plan_migration(conn, definition, renames)
                steps = plan.describe()
                if not dry_run and not plan.empty:
                    apply_migration(conn, definition, plan)
                    log.info("form %s migrated: %s", form, "; ".join(steps), extra={"form": form})
            return steps
    finally:
        engine.dispose()


@click.command("migrate")
@click.argument("form")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default="forms-sync.toml", show_default=True)
@click.option("--rename", "renames", multiple=True, metavar="OLD=NEW",
              help="A field renamed in the definition: rename its column (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show what would change and check every conversion; change nothing.")
def migrate_command(form, config_path, renames, dry_run):
    """Apply a definition change the sync refused (a field removed, renamed or retyped).

    Before a field is dropped or retyped, the table is copied to FORM__v<old version>. Retyped
    values are converted the way a new answer would be read; if any does not convert, nothing
    changes. Exit 0: migrated (or nothing to do); 2: refused or usage error; 3: database error;
    75: a sync is running.
    """
    from forms_sync.store.migrate import parse_renames

    steps = migrate_form(config_path, form, parse_renames(renames), dry_run=dry_run)
    if not steps:
        click.echo(f"{form}: the table already matches the definition; nothing to migrate.")
        return
    click.echo(f"{form}: {'would' if dry_run else 'did'}:")
    for step in steps:
        click.echo(f"  - {step}")
    if dry_run:
        click.echo("dry run: nothing was changed.")
