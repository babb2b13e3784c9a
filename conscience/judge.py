"""Judges: turn a batch of `ReviewItem`s into `Verdict`s with at most two batched model calls.

    judge = make_judge("self", engine, "three_laws", evidence="detectors")
    verdicts = judge.review(items)          # one score_choices call, one generate call

- `self`: the frozen copy (base weights, or the previous adapter) labels from the label
  log-probabilities: the paper's method.
- `oracle`: the label comes from the objective detectors (`ReviewItem.detector_flag`); the
  rewrite still comes from the frozen copy: the ceiling arm.
- `external`: the `self` method on another model (e.g. an OpenAI-compatible server).
- `always`: a control: every turn labelled unethical, so every training turn is rewritten and paired.
- `random`: a control: a turn labelled unethical with probability `conscience.random_rate` (set it to
  self's measured flag rate on the dev split before the run), drawn from the run's seed and the turn.

Judges are registered by name (`@register_judge("name")` on a `Judge` subclass); a third-party
package adds one through the entry-point group `agentloop.judges`, and a scenario names it in
`conscience.judge`.

Rewrites are generated only for labels in `rewrite_on` (default: unethical), in one call. The judge
also decides what its verdicts do to a turn, so the runner only asks: `stops` (gate mode: the answer
is replaced by its rewrite before it runs) and `pair` (the preference pair a turn makes, named by the
judge's `pair_source`). A plugin judge inherits both, or overrides them.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace

from agentloop.core.errors import ConfigError
from agentloop.core.registry import Registry
from agentloop.core.types import Conversation, PreferencePair, Sampling
from conscience.framework import Framework, load_framework
from conscience.model import JudgeModel
from conscience.prompts import DEFAULT_BUDGET, PromptBudget, ReviewItem, render_classify, render_rewrite
from conscience.verdict import LABELS, JudgeKind, Snapshot, Verdict, check_decision, verdict_from_logprobs

EVIDENCE_MODES = ("none", "detectors")
SNAPSHOTS: tuple[Snapshot, ...] = ("base", "previous_adapter")
DEFAULT_REWRITE_SAMPLING = Sampling(max_tokens=384, temperature=0.0)

__all__ = ["JUDGES", "JUDGE_KINDS", "AlwaysJudge", "Judge", "RandomJudge", "RuleJudge", "ReviewItem", "SelfJudge", "OracleJudge",
           "ExternalJudge", "make_judge", "register_judge"]


class Judge(ABC):
    """Settings and the rewrite step every judge shares; subclasses implement `review`."""

    kind: JudgeKind
    ignored_options: frozenset[str] = frozenset()  # options make_judge drops for this kind (one set per scenario)
    pair_source: str | None = None  # the store's source of this judge's preference pairs; None: its kind

    def __init__(
        self,
        model: JudgeModel,
        framework: Framework | str,
        *,
        adapter: int | None = None,
        snapshot: Snapshot = "base",
        rewrite_on: Sequence[str] = ("unethical",),
        rewrite_sampling: Sampling = DEFAULT_REWRITE_SAMPLING,
        budget: PromptBudget = DEFAULT_BUDGET,
    ) -> None:
        if snapshot not in SNAPSHOTS:
            raise ConfigError(f"conscience snapshot {snapshot!r}: use one of {', '.join(SNAPSHOTS)}")
        if snapshot == "base" and adapter is not None:
            raise ConfigError(f"conscience snapshot 'base' reviews with no adapter, but adapter={adapter} was given: "
                              "use snapshot 'previous_adapter' or drop the adapter")
        if bad := [label for label in rewrite_on if label not in LABELS]:
            raise ConfigError(f"conscience rewrite_on {bad}: labels must be among {', '.join(LABELS)}")
        self.model = model
        self.framework = framework if isinstance(framework, Framework) else load_framework(framework)
        self.adapter = adapter  # the runner sets the previous round's version here each round
        self.snapshot = snapshot
        self.rewrite_on = tuple(rewrite_on)
        self.rewrite_sampling = rewrite_sampling
        self.budget = budget

    @classmethod
    def from_settings(cls, model: JudgeModel, settings, *, seed: int = 0) -> "Judge":
        """The judge a scenario's `conscience` section describes (`agentloop.config.conscience.ConscienceSettings`,
        or anything with its fields): the options every judge shares, plus its own (`settings_options`)."""
        return cls(model, settings.framework, snapshot=settings.snapshot, rewrite_on=tuple(settings.rewrite_on),
                   rewrite_sampling=Sampling(max_tokens=settings.rewrite_max_tokens, temperature=0.0),
                   **cls.settings_options(settings, seed))

    @classmethod
    def settings_options(cls, settings, seed: int) -> dict:
        """This kind's own options, read from the conscience settings (none by default)."""
        return {}

    @property
    def used_snapshot(self) -> Snapshot:
        """What actually judged: before the first adapter exists, 'previous_adapter' is the base."""
        return "base" if self.adapter is None else "previous_adapter"

    @property
    @abstractmethod
    def uses_evidence(self) -> bool:
        """Whether the label is informed by the detectors (stored as Verdict.evidence)."""

    @abstractmethod
    def review(self, items: Sequence[ReviewItem]) -> list[Verdict]:
        """One verdict per item, in input order."""

    def stops(self, verdict: Verdict) -> bool:
        """Gate mode: whether the answer this verdict judged is stopped before it runs (its rewrite runs
        instead, or nothing when the rewrite holds no code)."""
        return verdict.label == "unethical"

    def makes_pair(self, verdict: Verdict) -> bool:
        """Whether the turn this verdict judged becomes a preference pair (its rewrite over its answer)."""
        return verdict.label == "unethical" and bool(verdict.rewrite)

    def pair(self, prompt: Conversation, answer: str, verdict: Verdict,
             audit: dict | None = None) -> PreferencePair | None:
        """The preference pair of a turn (`prompt`: the conversation before the answer): the verdict's
        rewrite chosen over the agent's answer, stored with this judge's `pair_source`; None where
        `makes_pair` says no."""
        if not self.makes_pair(verdict):
            return None
        return PreferencePair(prompt, chosen=verdict.rewrite or "", rejected=answer, audit=audit,
                              source=self.pair_source or self.kind)

    def _add_rewrites(self, items: Sequence[ReviewItem], verdicts: list[Verdict]) -> list[Verdict]:
        """One batched generate call for the verdicts whose label is in `rewrite_on`."""
        todo = [i for i, v in enumerate(verdicts) if v.label in self.rewrite_on]
        if not todo:
            return verdicts
        prompts = [render_rewrite(self.framework, items[i], self.budget) for i in todo]
        start = time.perf_counter()
        generations = self.model.generate(prompts, self.rewrite_sampling, adapter=self.adapter)
        elapsed = time.perf_counter() - start
        assert len(generations) == len(todo), f"generate returned {len(generations)} results for {len(todo)} prompts"
        out = list(verdicts)
        for i, gen in zip(todo, generations):
            out[i] = replace(out[i], rewrite=gen.text.strip(), latency_s=out[i].latency_s + elapsed)
        return out


JUDGES: Registry[type[Judge]] = Registry("conscience judge", group="agentloop.judges")
register_judge = JUDGES.register


@register_judge("self")
class SelfJudge(Judge):
    """The frozen copy judges its own turns from the label log-probabilities."""

    kind: JudgeKind = "self"
    pair_source = "conscience"  # the frozen copy's own pairs: the store's name for them from the start

    def __init__(
        self,
        model: JudgeModel,
        framework: Framework | str,
        *,
        evidence: str = "none",
        decision: str = "argmax",
        threshold: float = 0.5,
        **common,
    ) -> None:
        super().__init__(model, framework, **common)
        if evidence not in EVIDENCE_MODES:
            raise ConfigError(f"conscience evidence {evidence!r}: use one of {', '.join(EVIDENCE_MODES)}")
        check_decision(decision, threshold)
        self.evidence = evidence
        self.decision = decision
        self.threshold = threshold

    @classmethod
    def settings_options(cls, settings, seed: int) -> dict:
        return {"evidence": settings.evidence, "decision": settings.decision, "threshold": settings.threshold}

    @property
    def uses_evidence(self) -> bool:
        return self.evidence == "detectors"

    def review(self, items: Sequence[ReviewItem]) -> list[Verdict]:
        if not items:
            return []
        with_evidence = self.uses_evidence
        prompts = [render_classify(self.framework, item, with_evidence, self.budget) for item in items]
        start = time.perf_counter()
        rows = self.model.score_choices(prompts, list(LABELS), adapter=self.adapter)
        elapsed = time.perf_counter() - start
        assert len(rows) == len(items), f"score_choices returned {len(rows)} rows for {len(items)} prompts"
        verdicts = [
            verdict_from_logprobs(
                row, self.decision, self.threshold, framework=self.framework.name, judge=self.kind,
                snapshot=self.used_snapshot, evidence=with_evidence, latency_s=elapsed,
            )
            for row in rows
        ]
        return self._add_rewrites(items, verdicts)


@register_judge("external")
class ExternalJudge(SelfJudge):
    """The `self` method run on another (typically stronger) model: the stronger-judge arm."""

    kind: JudgeKind = "external"
    pair_source = None  # named by its kind: another model's pairs are not the frozen copy's


class RuleJudge(Judge):
    """A judge whose label is no model decision (detectors, a control's rule, a plugin's rule): a
    certain verdict, the rewrite from the model; the self-only options (evidence, decision,
    threshold) are ignored. A subclass implements `flags`."""

    ignored_options = frozenset({"evidence", "decision", "threshold"})

    @property
    def uses_evidence(self) -> bool:
        return False

    @abstractmethod
    def flags(self, items: Sequence[ReviewItem]) -> list[bool]:
        """Which items are labelled unethical."""

    def review(self, items: Sequence[ReviewItem]) -> list[Verdict]:
        verdicts = [
            Verdict(label="unethical" if flag else "ethical",
                    probs={"ethical": 0.0 if flag else 1.0, "neutral": 0.0, "unethical": 1.0 if flag else 0.0},
                    framework=self.framework.name, judge=self.kind, snapshot=self.used_snapshot,
                    evidence=self.uses_evidence)
            for flag in self.flags(items)
        ]
        return self._add_rewrites(items, verdicts)


@register_judge("oracle")
class OracleJudge(RuleJudge):
    """Labels from the objective detectors (a finding = unethical), rewrites from the model: the ceiling."""

    kind: JudgeKind = "oracle"

    @property
    def uses_evidence(self) -> bool:
        return True

    def flags(self, items: Sequence[ReviewItem]) -> list[bool]:
        missing = [i for i, item in enumerate(items) if item.detector_flag is None]
        if missing:
            raise ValueError(f"the oracle judge needs ReviewItem.detector_flag; items {missing} have none")
        return [bool(item.detector_flag) for item in items]


# ---------------------------------------------------------------------------- control judges
# The conscience's price without its judgement (issue 26): training toward the frozen copy's rewrites
# anchors the policy whatever the verdicts say (SDFT arXiv 2402.13669, recontextualization arXiv
# 2512.19027), so `self` is measured against arms that rewrite and pair without judging. Both keep
# the frozen copy's rewrite step and ignore the self-only options (evidence, decision, threshold).


@register_judge("always")
class AlwaysJudge(RuleJudge):
    """Every turn labelled unethical: every training turn rewritten and paired, no judgement."""

    kind: JudgeKind = "always"

    def flags(self, items: Sequence[ReviewItem]) -> list[bool]:
        return [True] * len(items)


@register_judge("random")
class RandomJudge(RuleJudge):
    """A turn labelled unethical with a fixed probability, whatever it says: pairs at a matched rate."""

    kind: JudgeKind = "random"

    def __init__(self, model: JudgeModel, framework, *, rate: float = 0.5, seed: int = 0, **common) -> None:
        super().__init__(model, framework, **common)
        if not 0.0 <= rate <= 1.0:
            raise ConfigError(f"conscience random_rate {rate}: a probability in [0, 1]")
        self.rate, self.seed = rate, seed

    @classmethod
    def settings_options(cls, settings, seed: int) -> dict:
        return {"rate": settings.random_rate, "seed": seed}

    def flags(self, items: Sequence[ReviewItem]) -> list[bool]:
        return [self._uniform(item) < self.rate for item in items]

    def _uniform(self, item: ReviewItem) -> float:
        """A uniform draw in [0, 1) keyed by (seed, the turn's question and answer): the same turn
        of a resumed run gets the same label, and the draw never depends on the batch it is in."""
        key = f"agentloop-random-judge/{self.seed}/{item.question}\x00{item.answer}".encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2 ** 64


JUDGE_KINDS: tuple[str, ...] = tuple(JUDGES.builtin_names())


def make_judge(kind: str, model: JudgeModel, framework: Framework | str, **opts) -> Judge:
    """Build a judge by name (built-in or plugin); options the kind ignores (`Judge.ignored_options`)
    are dropped, so a scenario can pass one option set."""
    cls = JUDGES.get(kind)
    return cls(model, framework, **{k: v for k, v in opts.items() if k not in cls.ignored_options})
