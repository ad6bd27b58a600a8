"""The database layout dashboards rely on (FORMAT.md §6), generated from the definitions.

Names here are a contract: `<form>`, `<form>__rejected`, `regions`, `completeness`,
`_submissions`, `_sync_runs` (plus `_watermarks` and `_forms`, ours). Times are stored as naive
UTC so SQLite, PostgreSQL and MariaDB hold identical values.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from forms_sync.definition.model import FormDefinition

NUMERIC = sa.Numeric(asdecimal=False).with_variant(mysql.DECIMAL(65, 10, asdecimal=False), "mysql", "mariadb")
KEY = sa.String(32)  # region codes (32.04.05.2001) and period ids (2026-Q4)
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

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
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("submitted_at", sa.DateTime),
    sa.Column("answers", LONG_TEXT, nullable=False),  # raw answers as JSON: {field: text}
    sa.Column("status", sa.String(16), nullable=False),  # accepted | rejected | superseded | deleted
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("ix_submissions_form_source", "form", "source"),
)

sync_runs = sa.Table(
    "_sync_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("status", sa.String(16), nullable=False),  # running | ok | refused | failed
    sa.Column("counts", LONG_TEXT),  # JSON: per form read/new/updated/unchanged/accepted/rejected/superseded
    sa.Column("api_calls", sa.Integer, nullable=False, default=0),
    sa.Column("drift", LONG_TEXT),  # JSON: schema drift seen in sources
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
)

watermarks = sa.Table(
    "_watermarks", metadata,
    sa.Column("form", sa.String(48), primary_key=True),
    sa.Column("source", sa.String(512), primary_key=True),
    sa.Column("value", LONG_TEXT, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

forms_registry = sa.Table(
    "_forms", metadata,
    sa.Column("form", sa.String(48), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("columns", LONG_TEXT, nullable=False),  # JSON {field: type} the table was made with
    sa.Column("updated_at", sa.DateTime, nullable=False),
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
)

completeness = sa.Table(
    "completeness", metadata,
    sa.Column("form", sa.String(48), primary_key=True),
    sa.Column("period", KEY, primary_key=True),
    sa.Column("region", KEY, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # accepted | rejected | missing
    sa.Column("on_time", sa.Boolean),
    sa.Column("_submitted_at", sa.DateTime),
)


def form_table(definition: FormDefinition, md: sa.MetaData | None = None) -> sa.Table:
    """The clean table: one accepted row per (region, period), every field with a real type."""
    md = md if md is not None else sa.MetaData()
    cols = [sa.Column("region", KEY, primary_key=True), sa.Column("period", KEY, primary_key=True)]
    cols += [sa.Column(f.name, FIELD_SQL_TYPES[f.type]()) for f in definition.fields]
    cols += [
        sa.Column("_submitted_at", sa.DateTime),
        sa.Column("_submission_id", sa.String(64), nullable=False),
        sa.Column("_source", sa.String(512), nullable=False),
        sa.Column("_synced_at", sa.DateTime, nullable=False),
    ]
    return sa.Table(definition.id, md, *cols, sa.Index(f"ix_{definition.id}_period"[:60], "period"))


def rejected_table(definition: FormDefinition, md: sa.MetaData | None = None) -> sa.Table:
    md = md if md is not None else sa.MetaData()
    return sa.Table(
        f"{definition.id}__rejected", md,
        sa.Column("_submission_id", sa.String(64), nullable=False),
        sa.Column("row", sa.Integer),
        sa.Column("region_text", sa.Text),
        sa.Column("period_text", sa.Text),
        sa.Column("field", sa.String(64)),
        sa.Column("value", sa.Text),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("message_en", sa.Text, nullable=False),
        sa.Column("_submitted_at", sa.DateTime),
        sa.Column("_source", sa.String(512), nullable=False),
        sa.Column("_synced_at", sa.DateTime, nullable=False),
        sa.Index(f"ix_{definition.id}__rejected_sub"[:60], "_submission_id"),
    )


def field_types(definition: FormDefinition) -> dict[str, str]:
    return {f.name: f.type for f in definition.fields}
