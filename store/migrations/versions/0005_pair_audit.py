"""Preference pairs keep their rewrite audit: the chosen answer's sandbox and detector results and its
similarity to the rejected answer and to the frozen copy's own (agentloop.rewrite_audit).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("preference_pairs") as batch:
        batch.add_column(sa.Column("audit", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preference_pairs") as batch:
        batch.drop_column("audit")
