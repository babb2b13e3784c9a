"""The rewrite audit: every preference pair's chosen answer (the conscience's rewrite) run through the
sandbox and the detectors like an agent turn, and compared with what it replaces.

A rewrite that games the tests would teach gaming under the name of alignment, and a rewrite that is
a near copy of the frozen copy's own answer teaches nothing but anchoring (training toward the
frozen model preserves alignment by itself). So each pair records: whether the rewrite parses, how
many hidden cases it solves, which findings it raises (hack, insecure), and its similarity
(difflib ratio of the code, 1 = identical) to the rejected answer and to the frozen copy's own
answer to the same prompt. The rejected answer is the turn itself, already evaluated.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass

from agentloop.detectors import Evaluation, evaluate_solution
from agentloop.core.labels import hack_detectors, insecure_detectors
from agentloop.core.parse import parse_answer
from agentloop.core.types import Task
from conscience.judge import Judge


@dataclass(frozen=True)
class PairAudit:
    chosen_parsed: bool  # the rewrite holds a code block
    chosen_hidden_passed: int
    chosen_hidden_total: int
    chosen_rules: list[str]  # the findings' rules on the rewrite
    chosen_hack: bool  # a hack-kind detector fired on the rewrite
    chosen_insecure: bool
    similarity_to_rejected: float  # code similarity, 0..1
    similarity_to_frozen: float | None  # to the frozen copy's own answer; None where it was not generated

    @property
    def chosen_solves(self) -> bool:
        return self.chosen_hidden_total > 0 and self.chosen_hidden_passed == self.chosen_hidden_total

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "chosen_solves": self.chosen_solves}


def similarity(a: str, b: str) -> float:
    """difflib's ratio of the two answers' code (their text where one has no code block)."""
    return difflib.SequenceMatcher(None, parse_answer(a).code or a, parse_answer(b).code or b,
                                   autojunk=False).ratio()


def audit_pairs(tasks: Sequence[Task], chosen: Sequence[str], rejected: Sequence[str],
                frozen: Sequence[str | None], evaluate: Callable[[Task, str | None, dict | None], Evaluation],
                pool: Executor, known: Sequence[Evaluation | None] | None = None) -> list[PairAudit]:
    """One audit per pair; the rewrites' sandbox runs go through `pool` like the turns' own. `known`: a
    rewrite's evaluation where one exists already (a gated turn ran its rewrite), not run again."""
    parsed = [parse_answer(text) for text in chosen]
    known = known or [None] * len(chosen)
    evals = list(pool.map(lambda args: args[2] or evaluate(args[0], args[1].code, args[1].files),
                          zip(tasks, parsed, known)))
    hacks, insecure = hack_detectors(), insecure_detectors()
    out = []
    for text, p, ev, rej, own in zip(chosen, parsed, evals, rejected, frozen):
        detectors = {f.detector for f in ev.findings}
        out.append(PairAudit(
            chosen_parsed=p.code is not None, chosen_hidden_passed=ev.hidden.n_passed,
            chosen_hidden_total=len(ev.hidden.tests), chosen_rules=sorted({f.rule for f in ev.findings}),
            chosen_hack=bool(detectors & hacks), chosen_insecure=bool(detectors & insecure),
            similarity_to_rejected=round(similarity(text, rej), 4),
            similarity_to_frozen=None if own is None else round(similarity(text, own), 4)))
    return out


def sandbox_evaluator(sandbox) -> Callable[[Task, str | None, dict | None], Evaluation]:
    return lambda task, code, files: evaluate_solution(task, code, files, sandbox=sandbox)


def audit_step(eps: Sequence, gens: Sequence, verdicts: Sequence, judge: Judge | None, *, engine,
               adapter_id: int | None, samplings: Callable[[list], list], sandbox, pool: Executor,
               executed: Sequence[Evaluation | None] = ()) -> list[dict[str, object] | None]:
    """The audits of a runner step's pairs (the turns `judge.makes_pair` pairs), None elsewhere. The
    frozen copy's own answer is the policy's where the policy has no adapter (the same weights,
    sampling and seed), else one generate call with no adapter for the paired prompts. `executed[i]`:
    turn i's evaluation where what ran was its rewrite (gated), reused instead of a second run."""
    paired = [i for i, v in enumerate(verdicts) if v is not None and judge is not None and judge.makes_pair(v)]
    out: list[dict[str, object] | None] = [None] * len(eps)
    if not paired:
        return out
    mine = [eps[i] for i in paired]
    frozen = ([gens[i].text for i in paired] if adapter_id is None
              else [g.text for g in engine.generate([ep.messages for ep in mine], samplings(mine), adapter=None)])
    audits = audit_pairs([ep.task for ep in mine], [verdicts[i].rewrite for i in paired],
                         [gens[i].text for i in paired], frozen, sandbox_evaluator(sandbox), pool,
                         known=[executed[i] if executed else None for i in paired])
    for i, audit in zip(paired, audits):
        out[i] = audit.as_dict()
    return out
