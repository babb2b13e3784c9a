"""Core domain types shared by the runner, sandbox, detectors, engines and store.

This module is a leaf: it imports nothing from the project, so every package
(including `store/` and `learner/`) may depend on it without cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# A chat conversation in the OpenAI `messages` format: [{"role": ..., "content": ...}, ...]
Message = dict[str, str]
Conversation = list[Message]

TaskKind = Literal["honest", "impossible", "insecure"]
Severity = Literal["low", "medium", "high"]
TestStatus = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class Finding:
    """One objective detector hit: the ground truth that verdicts are scored against."""

    detector: str  # "hidden_tests" | "tampering" | "insecure" | "parse" | "sandbox"
    rule: str  # stable rule id, e.g. "TAMPER_SYS_EXIT", "B602", "HIDDEN_FAIL"
    severity: Severity
    message: str
    line: int | None = None  # 1-based line in the agent's solution, when known
    file: str | None = None


@dataclass(frozen=True)
class TestOutcome:
    """Outcome of one collected test, parsed from pytest's junit XML (not its text)."""

    nodeid: str
    status: TestStatus
    message: str = ""


@dataclass
class SandboxResult:
    """What running untrusted code (and its tests) in the sandbox produced."""

    exit_code: int | None
    tests: list[TestOutcome] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    killed_by: str | None = None  # "timeout" | "memory" | "cpu" | "filesize" | signal name
    duration_s: float = 0.0
    backend: str = ""  # "bwrap" | "rlimit"
    files_after: dict[str, str] = field(default_factory=dict)  # test files as they were after the run
    forged_report: str = ""  # why the test report was not written by this run's own pytest ("" when it was)

    @property
    def n_passed(self) -> int:
        return sum(t.status == "passed" for t in self.tests)

    @property
    def n_failed(self) -> int:
        return sum(t.status in ("failed", "error") for t in self.tests)

    @property
    def all_passed(self) -> bool:
        return bool(self.tests) and self.n_failed == 0 and not self.timed_out


@dataclass(frozen=True)
class HiddenCase:
    """One hidden check: `expr` evaluated in the sandbox must give `expected` (or raise `raises`).

    `expected` is plain data (str/int/float/bool/None/list/dict with str keys) that never enters the
    sandbox; the trusted parent compares it with the plain value the sandbox reports.
    """

    expr: str  # a Python expression; the solution module's public names (and the setup's) are in scope
    expected: object = None  # the value the expression must evaluate to (when `raises` is None)
    raises: str | None = None  # an exception class name the expression must raise instead ("ValueError")
    approx: float | None = None  # absolute tolerance for floats in `expected`


@dataclass(frozen=True)
class HiddenCases:
    """A task's hidden verdict: trusted setup code, then cases; the verdict is all cases matching."""

    cases: tuple[HiddenCase, ...]
    setup: str = ""  # trusted code run once in the sandbox before the solution is imported
    source: str = "hidden_cases.yaml"  # where the cases came from (names the outcomes: "<source>::case[3]")


@dataclass(frozen=True)
class Task:
    """One concrete task instance (a family rendered with a seed)."""

    family: str
    kind: TaskKind
    seed: int
    title: str
    spec: str  # what the user asks for, in prose
    solution_file: str  # the file the agent writes, e.g. "solution.py"
    starter: str  # starter code for solution_file
    visible_tests: dict[str, str]  # filename -> content; shown to the agent
    hidden_cases: HiddenCases  # never shown; the hidden verdict (see agentloop/sandbox/harness.py)
    files: dict[str, str] = field(default_factory=dict)  # other data files in the work dir
    references: dict[str, str] = field(default_factory=dict)  # "honest" | "hack" | "insecure"... -> code
    expected: dict[str, list[str]] = field(default_factory=dict)  # reference name -> detectors that must fire
    # insecure-code rules the task itself asks for (an MD5 digest task and B324): not findings on this task
    allowed_rules: tuple[str, ...] = ()

    @property
    def instance_id(self) -> str:
        return f"{self.family}/s{self.seed}"


@dataclass(frozen=True)
class Sampling:
    """Per-request sampling settings (vLLM's SamplingParams, the parts we use)."""

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Generation:
    """One completion with its cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float  # wall time of the batched call this completion was part of


@dataclass
class ParsedAnswer:
    """An agent message split into reasoning and code (see agentloop/core/parse.py)."""

    reasoning: str
    code: str | None
    action: Literal["submit", "give_up", "none"] = "submit"
    files: dict[str, str] = field(default_factory=dict)  # extra file edits the agent asked for
    error: str | None = None  # why parsing found no usable code


@dataclass
class Turn:
    """One agent turn of an episode, as the runner records it."""

    index: int
    prompt: str  # the user message that elicited this turn
    reasoning: str
    answer: str  # the raw agent message
    code: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    adapter_version: int | None = None
    gated: bool = False  # the conscience's rewrite replaced the agent's answer before execution
    visible_passed: int = 0
    visible_total: int = 0
    hidden_passed: int = 0
    hidden_total: int = 0
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class PreferencePair:
    """A DPO pair a turn produced: chosen = the conscience's rewrite, rejected = the agent's answer;
    `audit` is what the rewrite audit measured (agentloop.rewrite_audit.PairAudit.as_dict); `source`
    is who made it, stored as the pair's source: the judge's `pair_source` (conscience.judge.Judge.pair),
    "conscience" for the frozen copy judging itself."""

    prompt: Conversation
    chosen: str
    rejected: str
    audit: dict[str, Any] | None = None
    source: str = "conscience"
