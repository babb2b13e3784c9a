"""ORM rows of the episode store (SQLAlchemy 2.0 typed models).

Types are Postgres-compatible: choices are VARCHAR + CHECK (non-native enums, so a
migration never has to ALTER TYPE), JSON is `sqlalchemy.JSON`, timestamps are
timezone-aware UTC (SQLite keeps them naive; `UTCDateTime` puts the zone back).
Rows are named `...Row` so they never clash with the domain types in
`agentloop.core.types`; `store.convert` is the one place that maps between the two.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Choice sets, shared with the baseline migration and the queries.
RUN_STATUSES = ("running", "done", "failed", "interrupted")
EPISODE_STATUSES = ("pending", "running", "done", "failed")
EPISODE_OUTCOMES = ("solved", "budget", "gave_up", "error")
SPLITS = ("train", "eval", "benchmark")  # benchmark: an outside benchmark's held-out episodes (0006)
LABELS = ("ethical", "neutral", "unethical")
SNAPSHOTS = ("base", "previous_adapter")
SEVERITIES = ("low", "medium", "high")
ROUND_STATUSES = ("running", "done", "failed")
ARTIFACT_KINDS = ("run_dir", "task_data", "log")

# Stable constraint names, so alembic and Postgres agree on what to drop/alter.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone on write)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert value.tzinfo is not None, "store timestamps must be timezone-aware (use store.models.utcnow)"
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=timezone.utc)


def choice(name: str, values: tuple[str, ...]) -> Enum:
    """A VARCHAR column restricted to `values` by a CHECK constraint (portable, no native enum)."""
    return Enum(*values, name=name, native_enum=False, create_constraint=True,
                length=max(len(v) for v in values), validate_strings=True)


def fk(target: str, *, nullable: bool = False, index: bool = True) -> Mapped[Any]:
    """A foreign key: a required one deletes with its parent, an optional one is set to NULL.

    (SQLite enforces both: foreign_keys=ON on every connection.)
    """
    ondelete = "SET NULL" if nullable else "CASCADE"
    return mapped_column(ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class RunRow(Base):
    """One `agentloop run` (or one arm/seed of an experiment)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scenario_path: Mapped[str | None] = mapped_column(Text)
    scenario_yaml: Mapped[str | None] = mapped_column(Text)  # the exact scenario text, so a run can be rebuilt
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the resolved scenario/config snapshot
    model: Mapped[str] = mapped_column(Text)
    backend: Mapped[str] = mapped_column(String(32))
    seed: Mapped[int] = mapped_column(default=0)
    arm: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(choice("run_status", RUN_STATUSES), default="running")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    command: Mapped[str | None] = mapped_column(Text)

    episodes: Mapped[list[EpisodeRow]] = relationship(
        back_populates="run", order_by="EpisodeRow.index", passive_deletes=True)


class EpisodeRow(Base):
    """One episode: a task instance the agent works on over several turns."""

    __tablename__ = "episodes"
    __table_args__ = (
        UniqueConstraint("run_id", "index", name="uq_episodes_run_id_index"),
        Index("ix_episodes_run_id_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # indexed by ix_episodes_run_id_status (run_id leads)
    run_id: Mapped[int] = fk("runs.id", index=False)
    index: Mapped[int]
    epoch: Mapped[int] = mapped_column(default=0)
    split: Mapped[str] = mapped_column(choice("episode_split", SPLITS), default="train")
    task_family: Mapped[str] = mapped_column(String(128))
    task_kind: Mapped[str] = mapped_column(String(32))
    task_seed: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(choice("episode_status", EPISODE_STATUSES), default="pending")
    outcome: Mapped[str | None] = mapped_column(choice("episode_outcome", EPISODE_OUTCOMES))
    error: Mapped[str | None] = mapped_column(Text)  # message + traceback when the episode failed
    claimed_by: Mapped[str | None] = mapped_column(String(128))  # worker id that runs it (store.claims)
    claim_expires_at: Mapped[datetime | None]  # the claim's lease; the worker's heartbeat renews it
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    run: Mapped[RunRow] = relationship(back_populates="episodes")
    turns: Mapped[list[TurnRow]] = relationship(
        back_populates="episode", order_by="TurnRow.index", passive_deletes=True)


class TurnRow(Base):
    """One agent turn: prompt, reasoning, answer, extracted code, cost and test results."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("episode_id", "index", name="uq_turns_episode_id_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = fk("episodes.id", index=False)  # indexed by the unique constraint
    index: Mapped[int]
    prompt: Mapped[str] = mapped_column(Text)
    reasoning: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    latency_s: Mapped[float] = mapped_column(default=0.0)
    adapter_version: Mapped[int | None]
    gated: Mapped[bool] = mapped_column(default=False)  # the conscience's rewrite ran instead of the answer
    visible_passed: Mapped[int] = mapped_column(default=0)
    visible_total: Mapped[int] = mapped_column(default=0)
    hidden_passed: Mapped[int] = mapped_column(default=0)
    hidden_total: Mapped[int] = mapped_column(default=0)
    # store.convert.TurnSandbox: test outcomes, exit code, timeout, backend, duration, no_code, gave_up
    sandbox: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    episode: Mapped[EpisodeRow] = relationship(back_populates="turns")
    verdict: Mapped[VerdictRow | None] = relationship(back_populates="turn", passive_deletes=True)
    findings: Mapped[list[FindingRow]] = relationship(
        back_populates="turn", order_by="FindingRow.id", passive_deletes=True)


class VerdictRow(Base):
    """The conscience's verdict on one turn (at most one per turn)."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(
        ForeignKey("turns.id", ondelete="CASCADE"), unique=True)  # the unique index serves the FK
    label: Mapped[str] = mapped_column(choice("verdict_label", LABELS))
    p_ethical: Mapped[float]
    p_neutral: Mapped[float]
    p_unethical: Mapped[float]
    rewrite: Mapped[str | None] = mapped_column(Text)  # written only where needed (unethical)
    framework: Mapped[str] = mapped_column(String(64))
    judge: Mapped[str] = mapped_column(String(64), default="self")  # a registered judge's name (plugins too)
    snapshot: Mapped[str] = mapped_column(choice("verdict_snapshot", SNAPSHOTS), default="base")
    evidence: Mapped[bool] = mapped_column(default=False)  # detector findings were shown to the judge
    latency_s: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    turn: Mapped[TurnRow] = relationship(back_populates="verdict")


class FindingRow(Base):
    """One objective detector hit on a turn's code (the ground truth)."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = fk("turns.id")
    detector: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(choice("finding_severity", SEVERITIES))
    line: Mapped[int | None]
    file: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text, default="")

    turn: Mapped[TurnRow] = relationship(back_populates="findings")


class TrainingRoundRow(Base):
    """One learner round: data counts, losses and cost."""

    __tablename__ = "training_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = fk("runs.id", nullable=True)
    version: Mapped[int]  # the adapter version this round produces
    status: Mapped[str] = mapped_column(choice("round_status", ROUND_STATUSES), default="running")
    steps: Mapped[int] = mapped_column(default=0)
    # per component (task, dpo, total), each {"before": x, "after": y}
    losses: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_pairs: Mapped[int] = mapped_column(default=0)
    n_task: Mapped[int] = mapped_column(default=0)
    n_replay: Mapped[int] = mapped_column(default=0)
    n_skipped: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reason -> count
    seconds: Mapped[float | None]
    device: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class PreferencePairRow(Base):
    """A DPO pair: chosen = the conscience's rewrite, rejected = the unethical answer."""

    __tablename__ = "preference_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = fk("runs.id")
    turn_id: Mapped[int | None] = fk("turns.id", nullable=True)
    prompt: Mapped[list[Any]] = mapped_column(default=list)  # chat messages up to the answer
    chosen: Mapped[str] = mapped_column(Text)
    rejected: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), default="conscience")  # "conscience" (self) or the judge's name
    # the rewrite audit (agentloop.rewrite_audit); SQL NULL where none was made, not JSON 'null'
    audit: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # the round that first trained on this pair; later rounds use it as replay
    first_round_id: Mapped[int | None] = fk("training_rounds.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdapterRow(Base):
    """A published LoRA adapter version (written atomically, then recorded here)."""

    __tablename__ = "adapters"
    __table_args__ = (UniqueConstraint("run_id", "version", name="uq_adapters_run_id_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = fk("runs.id", nullable=True, index=False)  # indexed by the unique constraint
    version: Mapped[int]
    path: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(128))
    round_id: Mapped[int | None] = fk("training_rounds.id", nullable=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArtifactRow(Base):
    """A file a run wrote outside the store (its folder, task data, log): where it is and, for files
    that no longer change, their sha256, so a reader finds this store's file and never another's."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_id", "kind", name="uq_artifacts_run_id_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = fk("runs.id", index=False)  # indexed by the unique constraint
    kind: Mapped[str] = mapped_column(choice("artifact_kind", ARTIFACT_KINDS))
    path: Mapped[str] = mapped_column(Text)  # absolute
    checksum: Mapped[str | None] = mapped_column(String(128))  # sha256 hex; None for folders and growing logs
    size: Mapped[int | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationRow(Base):
    """Per-epoch results of a run/arm/seed (what the experiment table prints)."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = fk("runs.id")
    epoch: Mapped[int]
    arm: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[int | None]
    n_episodes: Mapped[int] = mapped_column(default=0)
    n_turns: Mapped[int] = mapped_column(default=0)
    # rates are None where undefined (no data, or no positives for precision/recall)
    aligned_rate: Mapped[float | None]
    hack_rate: Mapped[float | None]
    insecure_rate: Mapped[float | None]
    capability: Mapped[float | None]
    precision: Mapped[float | None]
    recall: Mapped[float | None]
    f1: Mapped[float | None]
    kappa: Mapped[float | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = [
    "AdapterRow", "ArtifactRow", "Base", "EpisodeRow", "EvaluationRow", "FindingRow", "PreferencePairRow",
    "RunRow", "TrainingRoundRow", "TurnRow", "UTCDateTime", "VerdictRow", "utcnow",
]
