"""Episodes of an outside benchmark (agentloop.benchmark) get their own split: `episodes.split` takes
"benchmark" beside "train" and "eval" (the CHECK constraint widened, and the VARCHAR with it on PostgreSQL).

SQLite cannot alter a CHECK constraint, so batch mode copies the table; `store.session.Store.upgrade` runs
migrations with foreign keys off, so dropping the old episodes table leaves their turns in place.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD, NEW = ("train", "eval"), ("train", "eval", "benchmark")


def _split(values: tuple[str, ...]) -> sa.Enum:
    """The column's type as store.models.choice builds it: a VARCHAR as long as the longest value, and a CHECK."""
    return sa.Enum(*values, name="episode_split", native_enum=False, create_constraint=True,
                   length=max(map(len, values)))


def _retype(old: sa.Enum, new: sa.Enum) -> None:
    with op.batch_alter_table("episodes") as batch:  # the CHECK goes with the old type, the new one's comes
        batch.alter_column("split", existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    _retype(_split(OLD), _split(NEW))


def downgrade() -> None:
    n = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM episodes WHERE split = 'benchmark'")).scalar()
    if n:  # deleting them here would orphan their turns (migrations run with foreign keys off on SQLite)
        raise RuntimeError(f"{n} episodes of the benchmark split exist; delete their runs before downgrading "
                           "below 0006")
    _retype(_split(NEW), _split(OLD))
