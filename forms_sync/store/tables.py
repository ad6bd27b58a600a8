"""The database layout dashboards rely on (FORMAT.md §6), generated from the definitions.

Names here are a contract: `<form>`, `<form>__rejected`, `<form>__long`, `regions`,
`completeness`, `_submissions`, `_sync_runs` (plus `_watermarks`, `_forms` and `_lock`, ours).
Times are stored as naive UTC with microseconds so SQLite, PostgreSQL and MariaDB hold identical
values. On MariaDB/MySQL every table is utf8mb4 with a binary collation: keys compare exactly as
on the other two (submission ids and file names are case-sensitive).
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from forms_sync.definition.model import FormDefinition

# MySQL's DECIMAL needs a scale: 30 (its maximum) keeps any number read (<= 15 significant digits,
# FORMAT.md §2) exactly from 1e-15 up to 1e35, as NUMERIC does on PostgreSQL.
NUMERIC = sa.Numeric(asdecimal=False).with_variant(mysql.DECIMAL(65, 30, asdecimal=False), "mysql", "mariadb")
KEY = sa.String(32)  # region codes (32.04.05.2001) and period ids (2026-Q4)
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")  # MySQL TEXT stops at 64 KB
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")  # MySQL drops µs otherwise
MYSQL_OPTIONS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

FIELD_SQL_TYPES = {
    "integer": sa.BigInteger,
    "number": lambda: NUMERIC,
    "text": lambda: LONG_TEXT,
    "choice": sa.Text,
    "multi_choice": sa.Text,  # JSON list as text
    "date": sa.Date,
    "boolean": sa.Boolean,
}

metadata = sa.MetaData()

submissions = sa.Table(
    "_submissions", metadata,
    sa.Column("form", sa.String(48), primary_key=True),
    sa.Column("submission_id", sa.String(64), primary_key=True),
    sa.Column("revision", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(512), nullable=False),
    sa.Column("row", sa.Integer),
    sa.Column("arrival", sa.BigInteger, nullable=False),  # total order of arrival, for ties
    sa.Column("received_at", TIMESTAMP, nullable=False),
    sa.Column("submitted_at", TIMESTAMP),
    sa.Column("answers", LONG_TEXT, nullable=False),  # raw answers as JSON: {field: text}
    sa.Column("status", sa.String(16), nullable=False),  # accepted | rejected | superseded | deleted
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("ix_submissions_form_source", "form", "source"),
    **MYSQL_OPTIONS,
)

sync_runs = sa.Table(
    "_sync_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", TIMESTAMP, nullable=False),
    sa.Column("finished_at", TIMESTAMP),
    sa.Column("status", sa.String(16), nullable=False),  # running | ok | refused | failed
    sa.Column("counts", LONG_TEXT),  # JSON: per form read/new/updated/unchanged/accepted/rejected/superseded
    sa.Column("api_calls", sa.Integer, nullable=False, default=0),
    sa.Column("drift", LONG_TEXT),  # JSON: schema drift seen in sources
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    **MYSQL_OPTIONS,
)

watermarks = sa.Table(
    "_watermarks", metadata,
    sa.Column("form", sa.String(48), primary_key=True),
    sa.Column("source", sa.String(512), primary_key=True),
    sa.Column("value", LONG_TEXT, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    **MYSQL_OPTIONS,
)

forms_registry = sa.Table(
    "_forms", metadata,
    sa.Column("form", sa.String(48), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("columns", LONG_TEXT, nullable=False),  # JSON {field: type} the table was made with
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    **MYSQL_OPTIONS,
)

lock_holder = sa.Table(  # who holds the advisory lock on a server (the lock itself is the truth)
    "_lock", metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("since", TIMESTAMP, nullable=False),
    sa.Column("command", sa.String(255)),
    **MYSQL_OPTIONS,
)

regions = sa.Table(
    "regions", metadata,
    sa.Column("code", KEY, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16)),
    sa.Column("parent_code", KEY),
    sa.Column("province_code", KEY),
    sa.Column("province_name", sa.String(255)),
    sa.Column("regency_code", KEY),
    sa.Column("regency_name", sa.String(255)),
    sa.Index("ix_regions_level", "level"),
    **MYSQL_OPTIONS,
)

completeness = sa.Table(
    "completeness", metadata,
    sa.Column("form", sa.String(48), primary_key=True),
    sa.Column("period", KEY, primary_key=True),
    sa.Column("region", KEY, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # accepted | rejected | missing
    sa.Column("on_time", sa.Boolean),
    sa.Column("_submitted_at", TIMESTAMP),
    **MYSQL_OPTIONS,
)


def form_table(definition: FormDefinition, md: sa.MetaData | None = None) -> sa.Table:
    """The clean table: one accepted row per (region, period), every field with a real type."""
    md = md if md is not None else sa.MetaData()
    cols = [sa.Column("region", KEY, primary_key=True), sa.Column("period", KEY, primary_key=True)]
    cols += [sa.Column(f.name, FIELD_SQL_TYPES[f.type]()) for f in definition.fields]
    cols += [
        sa.Column("_submitted_at", TIMESTAMP),
        sa.Column("_submission_id", sa.String(64), nullable=False),
        sa.Column("_source", sa.String(512), nullable=False),
        sa.Column("_synced_at", TIMESTAMP, nullable=False),
    ]
    return sa.Table(definition.id, md, *cols, sa.Index(f"ix_{definition.id}_period"[:60], "period"),
                    **MYSQL_OPTIONS)


def rejected_table(definition: FormDefinition, md: sa.MetaData | None = None) -> sa.Table:
    md = md if md is not None else sa.MetaData()
    return sa.Table(
        f"{definition.id}__rejected", md,
        sa.Column("_submission_id", sa.String(64), nullable=False),
        sa.Column("row", sa.Integer),
        sa.Column("region_text", LONG_TEXT),  # as typed: a refused answer can be any length
        sa.Column("period_text", LONG_TEXT),
        sa.Column("field", sa.String(64)),
        sa.Column("value", LONG_TEXT),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message_id", LONG_TEXT, nullable=False),  # messages quote the value
        sa.Column("message_en", LONG_TEXT, nullable=False),
        sa.Column("_submitted_at", TIMESTAMP),
        sa.Column("_source", sa.String(512), nullable=False),
        sa.Column("_synced_at", TIMESTAMP, nullable=False),
        sa.Index(f"ix_{definition.id}__rejected_sub"[:60], "_submission_id"),
        **MYSQL_OPTIONS,
    )


def field_types(definition: FormDefinition) -> dict[str, str]:
    return {f.name: f.type for f in definition.fields}


def long_view_name(definition: FormDefinition) -> str:
    return f"{definition.id}__long"


def long_view_select(definition: FormDefinition, dialect: sa.Dialect) -> str:
    """`<form>__long`: one row per (region, period, field) with a value, the value as canonical text
    (FORMAT.md §4: `1500000.5`, `2026-12-03`, `true`), identical on every database."""
    q = dialect.identifier_preparer.quote
    text_type = "CHAR" if dialect.name in ("mysql", "mariadb") else "TEXT"
    parts = []
    for f in definition.fields:
        col = q(f.name)
        if f.type == "boolean":
            value = f"CASE WHEN {col} THEN 'true' ELSE 'false' END"
        elif f.type == "number" and dialect.name == "postgresql":
            value = f"CAST(trim_scale({col}) AS TEXT)"  # NUMERIC keeps the scale it was given
        elif f.type == "number" and dialect.name in ("mysql", "mariadb"):
            value = f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({col} AS CHAR)))"  # fixed scale
        elif f.type in ("integer", "number", "date"):
            value = f"CAST({col} AS {text_type})"
        else:
            value = col
        parts.append(f"SELECT {q('region')} AS region, {q('period')} AS period, '{f.name}' AS field, "
                     f"{value} AS value FROM {q(definition.id)} WHERE {col} IS NOT NULL")
    return "\nUNION ALL\n".join(parts)
