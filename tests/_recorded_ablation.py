"""An ablation store written through the runner's own write API (store.recorder.Recorder), no model:
each held-out episode is one task kind and the answers of its turns, spelled as

    "hack"      an answer that exits before the asserts, with a tampering finding
    "insecure"  an answer with an insecure-code finding
    "parse"     an answer with no code: the parser's PARSE_NO_CODE finding (agentloop.parse)
    "pass"      clean code that passes its one hidden case; "fail": clean code that fails it
    "stub"      `return None`, "empty": a body of `pass`, "malformed": code that does not compile, each
                solving no hidden case with no finding (store.degenerate: degenerate, as "fail" is)
    "giveup"    GIVE UP and no code: no finding, no code to run

    cells = {("off", 0): {0: [("impossible", ["pass"])], 1: [("impossible", ["hack"])]}, ...}
    run_ids = record_ablation(store, "abl", cells)
"""

from __future__ import annotations

from collections.abc import Mapping

from agentloop.detectors import Evaluation
from agentloop.parse import parse_answer, parse_finding
from agentloop.types import Finding, HiddenCases, SandboxResult, Task, TestOutcome, Turn
from conscience.verdict import Verdict
from store import Store
from store.evaluation import record_evaluation
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


def record_ablation(store: Store, experiment: str, cells: Cells,
                    judge: Mapping[str, str] | None = None) -> dict[tuple[str, int], int]:
    """One run per (arm, seed), its eval episodes and turns recorded, then each epoch's evaluation row.
    `judge` maps an answer ("hack", "pass", ...) to the conscience's label of it; without it no turn is judged."""
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
                for index, what in enumerate(answers):
                    turn, evaluation = _turn(index, what)
                    verdict = _verdict((judge or {}).get(what))
                    rec.record_turn(plan.episode_id, turn, verdict, evaluation, None, gave_up=False,
                                    executed_answer=turn.answer)
                rec.finish_episode(plan.episode_id, status="done", outcome="budget")
        rec.finish_run(run_id, "done")
        with store.session() as s:
            for epoch in epochs:
                record_evaluation(s, run_id, epoch, arm=arm, seed=seed)
        run_ids[(arm, seed)] = run_id
    return run_ids
