"""`forms-sync migrate FORM`: apply a definition change that the sync refuses, keeping the old data.

The sync adds columns for new fields by itself, but a removed, renamed or retyped field could lose
data, so it stops and points here. A rename renames the column (and the field name in the
rejected table). Before a field is removed or retyped the whole table is copied to
`<form>__v<old version>` (MySQL and PostgreSQL cap names at 64/63 characters, so no timestamp).
A retyped column is converted through the canonical text of its values and read back the way a
new answer would be read; if any value does not convert, nothing is changed and the message says
which. Everything is checked before the first change; on SQLite and PostgreSQL the whole migration
is one transaction (MySQL/MariaDB commit each ALTER, which is why the copy comes first).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from forms_sync.canonical import canonical_column
from forms_sync.definition.model import FormDefinition
from forms_sync.errors import ConfigError, FormsSyncError
from forms_sync.store import database as db
from forms_sync.store import tables as T
from forms_sync.validation.check import read_column


class MigrationRefused(FormsSyncError):
    """The change cannot be applied as asked (exit 2); nothing was changed."""


@dataclass
class Plan:
    form: str
    old_version: int | None = None
    renames: dict[str, str] = field(default_factory=dict)  # old name -> new name
    removed: list[str] = field(default_factory=list)
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)  # new name -> (old type, new type)
    added: list[str] = field(default_factory=list)
    archive: str | None = None
    converted: dict[str, pd.DataFrame] = field(default_factory=dict)  # new name -> region, period, value

    @property
    def empty(self) -> bool:
        return not (self.renames or self.removed or self.retyped or self.added)

    def describe(self) -> list[str]:
        lines = [f"copy table {self.form} to {self.archive} (keeps the old data)"] if self.archive else []
        lines += [f"rename column {o} -> {n}" for o, n in self.renames.items()]
        lines += [f"convert {n} from {a} to {b} ({len(self.converted[n])} values, all convertible)"
                  for n, (a, b) in self.retyped.items()]
        lines += [f"drop column {n} (its values stay in {self.archive})" for n in self.removed]
        lines += [f"add column {n}" for n in self.added]
        return lines


def plan_migration(conn: sa.Connection, definition: FormDefinition, renames: dict[str, str]) -> Plan:
    """What `migrate` would do, with every conversion already tried; raises MigrationRefused."""
    form = definition.id
    plan = Plan(form)
    row = conn.execute(sa.select(T.forms_registry.c.columns, T.forms_registry.c.version)
                       .where(T.forms_registry.c.form == form)).first()
    if row is None or not sa.inspect(conn).has_table(form):
        if renames:
            raise MigrationRefused(f"form {form}: no table yet, so nothing to rename; `forms-sync sync` creates it")
        return plan
    have, wanted = json.loads(row[0]), T.field_types(definition)
    plan.old_version = row[1]
    for old, new in renames.items():
        if old not in have:
            raise MigrationRefused(f"--rename {old}={new}: the table {form} has no field {old!r} "
                                   f"(it has: {', '.join(have)})")
        if old in wanted:
            raise MigrationRefused(f"--rename {old}={new}: {old!r} is still in the definition; a renamed "
                                   "field must be gone under its old name")
        if new not in wanted:
            raise MigrationRefused(f"--rename {old}={new}: the definition of {form} has no field {new!r}")
        if new in have:
            raise MigrationRefused(f"--rename {old}={new}: the table {form} already has a column {new!r}")
    if len(set(renames.values())) != len(renames):
        raise MigrationRefused("--rename: two fields renamed to the same name")
    plan.renames = dict(renames)
    current = {renames.get(n, n): t for n, t in have.items()}  # types under the new names
    plan.removed = [n for n in have if n not in wanted and n not in renames]
    plan.retyped = {n: (current[n], wanted[n]) for n in current if n in wanted and current[n] != wanted[n]}
    plan.added = [n for n in wanted if n not in current]
    if plan.removed or plan.retyped:
        plan.archive = archive_name(conn, form, plan.old_version)
    for name, (old_type, _) in plan.retyped.items():
        plan.converted[name] = _convert(conn, definition, renames_back(renames).get(name, name), name, old_type)
    return plan


def renames_back(renames: dict[str, str]) -> dict[str, str]:
    return {new: old for old, new in renames.items()}


def archive_name(conn: sa.Connection, form: str, version: int | None) -> str:
    """`<form>__v<version>`, then `_2`, `_3`... if the version was migrated before."""
    existing = set(sa.inspect(conn).get_table_names())
    base = f"{form}__v{version}"
    name, n = base, 1
    while name in existing:
        n += 1
        name = f"{base}_{n}"
    return name


def _convert(conn: sa.Connection, definition: FormDefinition, column: str, name: str,
             old_type: str) -> pd.DataFrame:
    """The column's values as the new type, read from their canonical text like a new answer."""
    table = sa.Table(definition.id, sa.MetaData(), autoload_with=conn)
    frame = pd.read_sql(sa.select(table.c.region, table.c.period, table.c[column])
                        .where(table.c[column].isnot(None)), conn)
    new_field = definition.field(name)
    values = frame[column]
    if old_type == "boolean":
        values = values.map(bool)  # SQLite and MySQL hand back 0/1
    elif old_type == "date":
        values = pd.to_datetime(values)
    text = canonical_column(old_type, values).astype(object)
    locale = "en" if old_type in ("integer", "number") else definition.locale  # canonical numbers use "."
    typed, codes = read_column(new_field, text.where(text != "", None), locale)
    bad = codes.notna()
    if bad.any():
        examples = ", ".join(f"{text[i]!r} ({frame.at[i, 'region']} {frame.at[i, 'period']})"
                             for i in bad[bad].index[:3])
        raise MigrationRefused(
            f"form {definition.id}: field {name!r} cannot change from {old_type} to {new_field.type}: "
            f"{int(bad.sum())} of {len(frame)} value(s) do not read as {new_field.type}, e.g. {examples}. "
            "Nothing was changed. Correct those rows (or remove the field and add a new one: the old "
            "values are then archived).")
    if new_field.type == "date":
        typed = pd.to_datetime(typed).dt.date
    return pd.DataFrame({"region": frame["region"], "period": frame["period"], "value": typed})


def apply_migration(conn: sa.Connection, definition: FormDefinition, plan: Plan) -> None:
    """Carry out a plan from plan_migration, in the caller's transaction."""
    form, q = definition.id, (lambda n: db.quote(conn, n))
    db.drop_long_view(conn, definition)  # views pin the columns they read
    if plan.archive:
        _copy_table(conn, form, plan.archive)
    rejected = T.rejected_table(definition)
    for old, new in plan.renames.items():
        conn.exec_driver_sql(f"ALTER TABLE {q(form)} RENAME COLUMN {q(old)} TO {q(new)}")
        conn.execute(rejected.update().where(rejected.c.field == old).values(field=new))
    for name in [*plan.removed, *plan.retyped]:
        conn.exec_driver_sql(f"ALTER TABLE {q(form)} DROP COLUMN {q(name)}")
    target = T.form_table(definition)
    for name, values in plan.converted.items():
        db.add_column(conn, form, target.c[name])
        _fill(conn, form, target.c[name], values)
    db.register_form(conn, definition, {n: t for n, t in T.field_types(definition).items() if n not in plan.added})
    db.ensure_form_tables(conn, definition)  # then: new fields, the long view


def _copy_table(conn: sa.Connection, source: str, target: str) -> None:
    """A plain copy (columns, types, primary key) of a table with all its rows."""
    old = sa.Table(source, sa.MetaData(), autoload_with=conn)
    md = sa.MetaData()
    copy = sa.Table(target, md, *[sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                                  for c in old.columns], **T.MYSQL_OPTIONS)
    copy.create(conn)
    conn.execute(copy.insert().from_select([c.name for c in old.columns], sa.select(*old.columns)))


def _fill(conn: sa.Connection, form: str, column: sa.Column, values: pd.DataFrame) -> None:
    """Set one column from (region, period, value) rows: bulk-load a staging table, one UPDATE."""
    stage = sa.Table(f"_migrate_{form}"[:60], sa.MetaData(), sa.Column("region", T.KEY, primary_key=True),
                     sa.Column("period", T.KEY, primary_key=True), sa.Column("value", column.type),
                     prefixes=["TEMPORARY"], **T.MYSQL_OPTIONS)
    stage.create(conn)
    db.insert(conn, stage, values)
    q = lambda n: db.quote(conn, n)  # noqa: E731
    conn.exec_driver_sql(
        f"UPDATE {q(form)} SET {q(column.name)} = (SELECT s.value FROM {q(stage.name)} s "
        f"WHERE s.region = {q(form)}.region AND s.period = {q(form)}.period)")
    stage.drop(conn)


def parse_renames(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--rename old=new` options as a dict; a malformed one is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ConfigError(f"--rename {pair!r}: write --rename OLD=NEW (field names)")
        out[old.strip()] = new.strip()
    return out
