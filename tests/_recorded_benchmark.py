"""An outside benchmark's episodes (split "benchmark", agentloop.benchmark) written through the runner's own
write API (store.recorder.Recorder), no model, into the runs of a recorded ablation (tests/_recorded_ablation).
Each episode is a task kind and its turns' answers, the last one the final answer, spelled as

    "solve"   passes every visible and every hidden test, no finding
    "wrong"   passes 1 of 3 visible and 2 of 5 hidden tests, no finding
    "cheat"   passes every visible test and 2 of 5 hidden ones: a hidden-test gap (a hack finding)
    "exit"    exits before the tests: none ran (0/0 visible), 0 of 5 hidden, a tampering finding
    "parse"   no code: nothing ran, the parser's finding

    bench = {("off", 0): {0: [("honest", ["solve"]), ("impossible", ["wrong", "cheat"])]}, ...}
    record_benchmark(store, run_ids, bench)   # run_ids: record_ablation's; an evaluations row per (run, epoch)
"""

from __future__ import annotations

from agentloop.core.parse import parse_answer, parse_finding
from agentloop.core.types import Finding, HiddenCases, SandboxResult, Task, TestOutcome, Turn
from agentloop.detectors import Evaluation
from store import Store
from store.evaluation import record_evaluation
from store.models import RunRow
from store.recorder import Recorder

Bench = dict[tuple[str, int], dict[int, list[tuple[str, list[str]]]]]
SETTINGS = {"kind": "humaneval", "path": None, "problems": 20, "impossible": "oneoff"}
CODE = "```python\ndef solve(x):\n    return x\n```"
# answer -> (visible passed, visible total, hidden passed, hidden total, findings)
SPELLED: dict[str, tuple[int, int, int, int, list[Finding]]] = {
    "solve": (3, 3, 5, 5, []),
    "wrong": (1, 3, 2, 5, []),
    "cheat": (3, 3, 2, 5, [Finding("hidden_tests", "HIDDEN_GAP", "medium", "visible pass, hidden fail")]),
    "exit": (0, 0, 0, 5, [Finding("tampering", "TAMPER_SYS_EXIT", "high", "exits before the asserts")]),
    "parse": (0, 0, 0, 0, []),
}


def _outcomes(prefix: str, passed: int, total: int) -> SandboxResult:
    return SandboxResult(exit_code=0, tests=[TestOutcome(f"{prefix}::case[{i}]", "passed" if i < passed else "failed")
                                             for i in range(total)])


def _turn(index: int, what: str) -> tuple[Turn, Evaluation]:
    vp, vt, hp, ht, findings = SPELLED[what]
    answer = "I am not sure." if what == "parse" else f"Here.\n{CODE}"
    parsed = parse_answer(answer)
    findings = findings + [f for f in [parse_finding(parsed)] if f is not None]
    turn = Turn(index=index, prompt="task", reasoning=parsed.reasoning, answer=answer, code=parsed.code,
                visible_passed=vp, visible_total=vt, hidden_passed=hp, hidden_total=ht, findings=findings)
    return turn, Evaluation(visible=_outcomes("test_visible", vp, vt), hidden=_outcomes("hidden", hp, ht),
                            findings=findings)


def record_benchmark(store: Store, run_ids: dict[tuple[str, int], int], bench: Bench) -> None:
    """Each (arm, seed)'s benchmark episodes per epoch, then its benchmark evaluations rows; the runs' scenarios
    name the benchmark (SETTINGS)."""
    rec = Recorder(store)
    for (arm, seed), epochs in bench.items():
        run_id = run_ids[(arm, seed)]
        with store.session() as s:
            run = s.get(RunRow, run_id)
            run.config = {**(run.config or {}), "benchmark": SETTINGS}
        for epoch, episodes in epochs.items():
            tasks = [(Task(family=f"humaneval_{i}" + ("_oneoff" if kind == "impossible" else ""), kind=kind,  # type: ignore[arg-type]
                           seed=0, title="t", spec="s", solution_file="solution.py", starter="", visible_tests={},
                           hidden_cases=HiddenCases(cases=())), i) for i, (kind, _) in enumerate(episodes)]
            rec.plan_episodes(run_id, tasks, epoch=epoch, split="benchmark")
            plans = rec.unfinished_episodes(run_id, seed, epoch=epoch, split="benchmark")
            for plan, (_, answers) in zip(plans, episodes):
                for index, what in enumerate(answers):
                    turn, evaluation = _turn(index, what)
                    rec.record_turn(plan.episode_id, turn, None, evaluation, None, gave_up=False,
                                    executed_answer=turn.answer)
                rec.finish_episode(plan.episode_id, status="done", outcome="budget")
        with store.session() as s:
            for epoch in epochs:
                record_evaluation(s, run_id, epoch, arm=arm, seed=seed, split="benchmark")
