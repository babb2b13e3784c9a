"""Verdicts and pairs name any registered judge (plugins and the control judges), not one of three.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, CHECK constraint's enum name, its values) as 0001 created them
_CHOICES = (("verdicts", "judge", "verdict_judge", ("self", "oracle", "external")),
            ("preference_pairs", "source", "pair_source", ("conscience", "oracle", "external")))


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _triggers(table: str) -> list[str]:
    """SQLite: the triggers on `table` (the search index's, store/migrations 0001); batch mode copies
    the table into a new one and drops them with the old."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return []
    rows = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table})
    return [sql for (sql,) in rows]


def _retype(table: str, column: str, old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    triggers = _triggers(table)
    with op.batch_alter_table(table) as batch:  # an Enum's CHECK goes with its old type
        batch.alter_column(column, existing_type=old, type_=new, existing_nullable=False)
    for sql in triggers:
        op.execute(sql)


def upgrade() -> None:
    for table, column, name, values in _CHOICES:
        _retype(table, column, _enum(name, values), sa.String(64))


def downgrade() -> None:
    for table, column, name, values in _CHOICES:
        _retype(table, column, sa.String(64), _enum(name, values))
