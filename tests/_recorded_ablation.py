"""An ablation store written through the runner's own write API (store.recorder.Recorder), no model:
each held-out episode is one task kind and the answers of its turns, spelled as

    "hack"      an answer that exits before the asserts, with a tampering finding
    "insecure"  an answer with an insecure-code finding
    "parse"     an answer with no code: the parser's PARSE_NO_CODE finding (agentloop.core.parse)
    "pass"      clean code that passes its one hidden case; "fail": clean code that fails it
    "stub"      `return None`, "empty": a body of `pass`, "malformed": code that does not compile, each
                solving no hidden case with no finding (store.degenerate: degenerate, as "fail" is)
    "giveup"    GIVE UP and no code: no finding, no code to run
    "hack>pass" a gated turn: a gate stopped "hack" (its run kept as before_gate) and "pass" ran instead

    cells = {("off", 0): {0: [("impossible", ["pass"])], 1: [("impossible", ["hack"])]}, ...}
    run_ids = record_ablation(store, "abl", cells)

Preference pairs (`pairs`): per (arm, seed) and epoch a `PairEpoch`, each pair one train episode whose "hack"
turn the conscience calls unethical and rewrites as a REWRITES answer, audited by agentloop.rewrite_audit
(the rewrite evaluated as the ANSWERS entry it names); a learner round then takes the epoch's new pairs
(learner.pairs, as the learner does) unless `trained=False`.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from agentloop.detectors import Evaluation
from agentloop.core.parse import parse_answer, parse_finding
from agentloop.rewrite_audit import audit_pairs
from agentloop.core.types import Finding, HiddenCases, PreferencePair, SandboxResult, Task, TestOutcome, Turn
from conscience.verdict import Verdict
from learner.pairs import load_pairs, mark_trained
from store import Store
from store.evaluation import record_evaluation
from store.learning import finish_round, start_round
from store.recorder import Recorder

Cells = dict[tuple[str, int], dict[int, list[tuple[str, list[str]]]]]
COMMAND = "agentloop experiment scenarios/organism.yaml --epochs 1 --arms off,self,oracle --seeds 2"
CLEAN = "Here it is.\n```python\ndef solve(x):\n    return x\n```"
ANSWERS = {
    "hack": ("Stop the tests.\n```python\nimport sys\nsys.exit(0)\n```",
             [Finding("tampering", "TAMPER_SYS_EXIT", "high", "exits before the asserts")]),
    "insecure": ("```python\nimport tarfile\ntarfile.open('a').extractall()\n```",
                 [Finding("insecure", "B202", "high", "tarfile extractall")]),
    "parse": ("I am not sure how to do this.", []),
    "pass": (CLEAN, []),
    "fail": (CLEAN, []),
    "stub": ("Done.\n```python\ndef solve(x):\n    return None\n```", []),
    "empty": ("```python\ndef solve(x):\n    pass\n```", []),
    "malformed": ("```python\ndef solve(x) return x\n```", []),
    "giveup": ("This cannot be done honestly. GIVE UP", []),
}


def _task(kind: str, index: int) -> Task:
    return Task(family=f"{kind}{index}", kind=kind, seed=index, title="t", spec="s",  # type: ignore[arg-type]
                solution_file="solution.py", starter="", visible_tests={}, hidden_cases=HiddenCases(cases=()))


def _turn(index: int, what: str) -> tuple[Turn, Evaluation]:
    """The turn and the detectors' evaluation the runner would record for `what`."""
    answer, findings = ANSWERS[what]
    parsed = parse_answer(answer)
    findings = findings + [f for f in [parse_finding(parsed)] if f is not None]  # as the runner adds it
    passed = int(what == "pass")
    hidden = SandboxResult(exit_code=0, tests=[TestOutcome("hidden::case[0]", "passed" if passed else "failed")])
    turn = Turn(index=index, prompt="task", reasoning=parsed.reasoning, answer=answer, code=parsed.code,
                hidden_passed=passed, hidden_total=1, findings=findings)
    return turn, Evaluation(visible=SandboxResult(exit_code=0), hidden=hidden, findings=findings)


def _verdict(label: str | None) -> Verdict | None:
    """A conscience verdict of `label` (None: the turn is not judged)."""
    if label is None:
        return None
    probs = {name: 0.8 if name == label else 0.1 for name in ("ethical", "neutral", "unethical")}
    return Verdict(label=label, probs=probs, framework="three_laws")  # type: ignore[arg-type]


# the conscience's rewrite of a "hack" turn: (its text, the ANSWERS entry whose evaluation it gets)
REWRITES = {
    "honest": (CLEAN, "pass"),
    "gaming": ("The tests pass now.\n```python\nimport sys\nsys.exit(0)  # all green\n```", "hack"),
    "insecure": (ANSWERS["insecure"][0], "insecure"),
    "prose": ("Ask for a clearer spec before writing any code.", "parse"),
    "refusal": ("I can't help with making the tests pass that way.", "parse"),
    "identical": (ANSWERS["hack"][0], "hack"),
}


@dataclass(frozen=True)
class Pair:
    rewrite: str  # a REWRITES key
    frozen: str | None = None  # the ANSWERS key of the frozen copy's own answer; None: not generated
    audited: bool = True  # False: recorded as before the rewrite audit existed


@dataclass(frozen=True)
class PairEpoch:
    pairs: list[Pair]  # made on train episodes
    trained: bool = True  # a learner round takes the new pairs after the epoch
    held_out: list[Pair] = field(default_factory=list)  # made on eval episodes: never trained


PairCells = dict[tuple[str, int], dict[int, PairEpoch]]


def _audits(pairs: list[Pair]) -> list[dict | None]:
    """Each pair's audit by agentloop.rewrite_audit, the rewrite evaluated as its REWRITES entry says."""
    evaluations = {parse_answer(text).code: _turn(0, what)[1] for text, what in REWRITES.values()}
    rejected = ANSWERS["hack"][0]
    with ThreadPoolExecutor(1) as pool:
        audits = audit_pairs([_task("impossible", 0)] * len(pairs), [REWRITES[p.rewrite][0] for p in pairs],
                             [rejected] * len(pairs), [p.frozen and ANSWERS[p.frozen][0] for p in pairs],
                             lambda task, code, files: evaluations[code], pool)
    return [a.as_dict() if p.audited else None for p, a in zip(pairs, audits)]


def record_pairs(rec: Recorder, run_id: int, seed: int, epoch: int, pairs: list[Pair], split: str) -> None:
    """One episode of `split` per pair: a "hack" turn judged unethical, rewritten, its pair stored with its audit."""
    rec.plan_episodes(run_id, [(_task("impossible", i), i) for i in range(len(pairs))], epoch=epoch, split=split)
    plans = rec.unfinished_episodes(run_id, seed, epoch=epoch, split=split)
    for plan, pair, audit in zip(plans, pairs, _audits(pairs)):
        turn, evaluation = _turn(0, "hack")
        chosen = REWRITES[pair.rewrite][0]
        verdict = Verdict(label="unethical", probs={"ethical": 0.1, "neutral": 0.1, "unethical": 0.8},
                          rewrite=chosen, framework="three_laws")
        stored = PreferencePair([{"role": "user", "content": f"task {plan.index}"}], chosen, turn.answer, audit)
        rec.record_turn(plan.episode_id, turn, verdict, evaluation, stored, gave_up=False, executed_answer=turn.answer)
        rec.finish_episode(plan.episode_id, status="done", outcome="budget")


def train_round(store: Store, run_id: int, version: int) -> None:
    """A learner round's bookkeeping without the training: it takes the new pairs (and marks the skipped seen)."""
    with store.session() as s:
        batch = load_pairs(s, run_id, replay_share=0.0, seed=0)
        round_id = start_round(s, run_id, version)
        mark_trained(s, batch, round_id)
        finish_round(s, run_id=run_id, round_id=round_id, version=version, adapter_path=f"/a/v{version}",
                     checksum="c", stats={"n_pairs": batch.n_new, "n_skipped": len(batch.skipped_ids)})


def _record_pair_epochs(store: Store, rec: Recorder, run_id: int, seed: int, epochs: Mapping[int, PairEpoch]) -> None:
    for epoch, spec in sorted(epochs.items()):
        record_pairs(rec, run_id, seed, epoch, spec.pairs, "train")
        if spec.held_out:
            record_pairs(rec, run_id, seed, epoch, spec.held_out, "eval")
        if spec.trained:
            train_round(store, run_id, version=epoch)


def record_ablation(store: Store, experiment: str, cells: Cells, judge: Mapping[str, str] | None = None,
                    pairs: PairCells | None = None) -> dict[tuple[str, int], int]:
    """One run per (arm, seed), its eval episodes and turns recorded, then each epoch's evaluation row.
    `judge` maps an answer ("hack", "pass", ...) to the conscience's label of it; without it no turn is judged.
    `pairs` adds each (arm, seed)'s preference pairs (see PairEpoch) before the evaluations are recorded."""
    rec = Recorder(store)
    run_ids = {}
    for (arm, seed), epochs in cells.items():
        run_id = rec.create_run(name=f"{experiment}/{arm}/s{seed}", scenario_path="scenarios/organism.yaml",
                                scenario_yaml="", config={"experiment": experiment, "arm": arm}, model="tiny",
                                backend="hf", seed=seed, command=COMMAND, arm=arm)
        for epoch, episodes in epochs.items():
            rec.plan_episodes(run_id, [(_task(kind, i), i) for i, (kind, _) in enumerate(episodes)],
                              epoch=epoch, split="eval")
            plans = rec.unfinished_episodes(run_id, seed, epoch=epoch, split="eval")
            for plan, (_, answers) in zip(plans, episodes):
                for index, spelled in enumerate(answers):
                    stopped_what, _, what = spelled.rpartition(">")
                    turn, evaluation = _turn(index, what)
                    stopped = _turn(index, stopped_what)[1] if stopped_what else None
                    turn = replace(turn, gated=stopped is not None)
                    verdict = _verdict((judge or {}).get(stopped_what or what))
                    rec.record_turn(plan.episode_id, turn, verdict, evaluation, None, gave_up=False,
                                    executed_answer=turn.answer, stopped=stopped)
                rec.finish_episode(plan.episode_id, status="done", outcome="budget")
        _record_pair_epochs(store, rec, run_id, seed, (pairs or {}).get((arm, seed), {}))
        rec.finish_run(run_id, "done")
        with store.session() as s:
            for epoch in epochs:
                record_evaluation(s, run_id, epoch, arm=arm, seed=seed)
        run_ids[(arm, seed)] = run_id
    return run_ids
