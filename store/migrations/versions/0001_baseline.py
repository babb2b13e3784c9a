"""Baseline: every table of the episode store, plus (SQLite only) the turns_fts index.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Frozen copy of the schema as `store.models` defined it at this revision: later model
changes get their own revision, never an edit here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    create_tables()
    if op.get_bind().dialect.name == "sqlite":
        create_turns_fts()


def create_tables() -> None:
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scenario_path', sa.Text(), nullable=True),
    sa.Column('scenario_yaml', sa.Text(), nullable=True),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('model', sa.Text(), nullable=False),
    sa.Column('backend', sa.String(length=32), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('running', 'done', 'failed', 'interrupted', name='run_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('command', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    op.create_table('episodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('split', sa.Enum('train', 'eval', name='episode_split', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('task_family', sa.String(length=128), nullable=False),
    sa.Column('task_kind', sa.String(length=32), nullable=False),
    sa.Column('task_seed', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'running', 'done', 'failed', name='episode_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('outcome', sa.Enum('solved', 'budget', 'gave_up', 'error', name='episode_outcome', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_episodes_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episodes')),
    sa.UniqueConstraint('run_id', 'index', name='uq_episodes_run_id_index')
    )
    op.create_index(op.f('ix_episodes_run_id_status'), 'episodes', ['run_id', 'status'])

    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=64), nullable=True),
    sa.Column('seed', sa.Integer(), nullable=True),
    sa.Column('n_episodes', sa.Integer(), nullable=False),
    sa.Column('n_turns', sa.Integer(), nullable=False),
    sa.Column('aligned_rate', sa.Double(), nullable=True),
    sa.Column('hack_rate', sa.Double(), nullable=True),
    sa.Column('insecure_rate', sa.Double(), nullable=True),
    sa.Column('capability', sa.Double(), nullable=True),
    sa.Column('precision', sa.Double(), nullable=True),
    sa.Column('recall', sa.Double(), nullable=True),
    sa.Column('f1', sa.Double(), nullable=True),
    sa.Column('kappa', sa.Double(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_evaluations_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluations'))
    )
    op.create_index(op.f('ix_evaluations_run_id'), 'evaluations', ['run_id'])

    op.create_table('training_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('running', 'done', 'failed', name='round_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('steps', sa.Integer(), nullable=False),
    sa.Column('losses', sa.JSON(), nullable=False),
    sa.Column('n_pairs', sa.Integer(), nullable=False),
    sa.Column('n_task', sa.Integer(), nullable=False),
    sa.Column('n_replay', sa.Integer(), nullable=False),
    sa.Column('n_skipped', sa.JSON(), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=True),
    sa.Column('device', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_training_rounds_run_id_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_rounds'))
    )
    op.create_index(op.f('ix_training_rounds_run_id'), 'training_rounds', ['run_id'])

    op.create_table('adapters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('checksum', sa.String(length=128), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['training_rounds.id'], name=op.f('fk_adapters_round_id_training_rounds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_adapters_run_id_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adapters')),
    sa.UniqueConstraint('run_id', 'version', name='uq_adapters_run_id_version')
    )
    op.create_index(op.f('ix_adapters_round_id'), 'adapters', ['round_id'])

    op.create_table('turns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('reasoning', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=False),
    sa.Column('completion_tokens', sa.Integer(), nullable=False),
    sa.Column('latency_s', sa.Double(), nullable=False),
    sa.Column('adapter_version', sa.Integer(), nullable=True),
    sa.Column('gated', sa.Boolean(), nullable=False),
    sa.Column('visible_passed', sa.Integer(), nullable=False),
    sa.Column('visible_total', sa.Integer(), nullable=False),
    sa.Column('hidden_passed', sa.Integer(), nullable=False),
    sa.Column('hidden_total', sa.Integer(), nullable=False),
    sa.Column('sandbox', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_turns_episode_id_episodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turns')),
    sa.UniqueConstraint('episode_id', 'index', name='uq_turns_episode_id_index')
    )
    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('detector', sa.String(length=32), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.Enum('low', 'medium', 'high', name='finding_severity', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('file', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['turn_id'], ['turns.id'], name=op.f('fk_findings_turn_id_turns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings'))
    )
    op.create_index(op.f('ix_findings_turn_id'), 'findings', ['turn_id'])

    op.create_table('preference_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=True),
    sa.Column('prompt', sa.JSON(), nullable=False),
    sa.Column('chosen', sa.Text(), nullable=False),
    sa.Column('rejected', sa.Text(), nullable=False),
    sa.Column('source', sa.Enum('conscience', 'oracle', 'external', name='pair_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('first_round_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['first_round_id'], ['training_rounds.id'], name=op.f('fk_preference_pairs_first_round_id_training_rounds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_preference_pairs_run_id_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['turn_id'], ['turns.id'], name=op.f('fk_preference_pairs_turn_id_turns'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preference_pairs'))
    )
    op.create_index(op.f('ix_preference_pairs_first_round_id'), 'preference_pairs', ['first_round_id'])
    op.create_index(op.f('ix_preference_pairs_run_id'), 'preference_pairs', ['run_id'])
    op.create_index(op.f('ix_preference_pairs_turn_id'), 'preference_pairs', ['turn_id'])

    op.create_table('verdicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.Enum('ethical', 'neutral', 'unethical', name='verdict_label', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('p_ethical', sa.Double(), nullable=False),
    sa.Column('p_neutral', sa.Double(), nullable=False),
    sa.Column('p_unethical', sa.Double(), nullable=False),
    sa.Column('rewrite', sa.Text(), nullable=True),
    sa.Column('framework', sa.String(length=64), nullable=False),
    sa.Column('judge', sa.Enum('self', 'oracle', 'external', name='verdict_judge', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('snapshot', sa.Enum('base', 'previous_adapter', name='verdict_snapshot', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('evidence', sa.Boolean(), nullable=False),
    sa.Column('latency_s', sa.Double(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['turn_id'], ['turns.id'], name=op.f('fk_verdicts_turn_id_turns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verdicts')),
    sa.UniqueConstraint('turn_id', name=op.f('uq_verdicts_turn_id'))
    )


# Full-text index of turns for `store.queries.search_turns` and `past_lessons` (the memory
# of past conscience lessons). rowid = turns.id; `rewrite` comes from the turn's verdict.
# Triggers keep it in sync, so writers need not know it exists.
TURNS_FTS_DDL = (
    "CREATE VIRTUAL TABLE turns_fts USING fts5(answer, reasoning, code, rewrite, tokenize = 'porter unicode61')",
    """CREATE TRIGGER turns_fts_insert AFTER INSERT ON turns BEGIN
         INSERT INTO turns_fts(rowid, answer, reasoning, code, rewrite)
         VALUES (new.id, new.answer, new.reasoning, coalesce(new.code, ''), '');
       END""",
    """CREATE TRIGGER turns_fts_update AFTER UPDATE OF answer, reasoning, code ON turns BEGIN
         UPDATE turns_fts SET answer = new.answer, reasoning = new.reasoning, code = coalesce(new.code, '')
         WHERE rowid = new.id;
       END""",
    """CREATE TRIGGER turns_fts_delete AFTER DELETE ON turns BEGIN
         DELETE FROM turns_fts WHERE rowid = old.id;
       END""",
    """CREATE TRIGGER turns_fts_verdict_insert AFTER INSERT ON verdicts BEGIN
         UPDATE turns_fts SET rewrite = coalesce(new.rewrite, '') WHERE rowid = new.turn_id;
       END""",
    """CREATE TRIGGER turns_fts_verdict_update AFTER UPDATE OF rewrite, turn_id ON verdicts BEGIN
         UPDATE turns_fts SET rewrite = '' WHERE rowid = old.turn_id;
         UPDATE turns_fts SET rewrite = coalesce(new.rewrite, '') WHERE rowid = new.turn_id;
       END""",
    """CREATE TRIGGER turns_fts_verdict_delete AFTER DELETE ON verdicts BEGIN
         UPDATE turns_fts SET rewrite = '' WHERE rowid = old.turn_id;
       END""",
)


def create_turns_fts() -> None:
    for statement in TURNS_FTS_DDL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS turns_fts")  # triggers go with their tables
    op.drop_table('verdicts')
    op.drop_table('preference_pairs')
    op.drop_table('findings')
    op.drop_table('turns')
    op.drop_table('adapters')
    op.drop_table('training_rounds')
    op.drop_table('evaluations')
    op.drop_table('episodes')
    op.drop_table('runs')
