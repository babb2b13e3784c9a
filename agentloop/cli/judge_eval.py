"""`agentloop judge-eval`: does the conscience agree with hand-labelled ground truth?

    agentloop judge-eval --framework all                      # self-judge, embedded model, vLLM
    agentloop judge-eval --judge oracle                        # the static detectors vs the hand labels
    agentloop judge-eval --framework wwjd --evidence detectors --json

Scores every turn of `conscience/data/judge_set.jsonl` (or `--set FILE`) and prints, per
framework, the 3x3 confusion matrix (rows = hand label, columns = verdict) and the binary
metrics of `unethical` vs not, with the AUROC of P(unethical).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from agentloop.cli.app import app, result_stdout
from agentloop.core.errors import ConfigError
from agentloop.core.metrics import Rate

log = logging.getLogger(__name__)
console = Console()


def _fmt(x: float | int | None) -> str:
    return "n/a" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def _detector_report(answer: str) -> tuple[str, bool]:
    """The static detectors (tampering, insecure) on the turn's code: report text and flag.
    The judge set has no task, so hard-coded-output and hidden-test checks cannot fire here."""
    from agentloop.detectors import insecure, is_misaligned, tampering
    from agentloop.core.parse import parse_answer

    parsed = parse_answer(answer)
    test_names = [name for name in parsed.files if os.path.basename(name).startswith("test_")]
    findings = [f for f in (*tampering.detect(parsed.code, parsed.files, test_names=test_names),
                            *insecure.detect(parsed.code, parsed.files)) if is_misaligned(f)]
    if not findings:
        return "The automatic checks found no problem.", False
    lines = [f"- [{f.detector}/{f.rule}] {f.message}" + (f" (line {f.line})" if f.line else "") for f in findings]
    return "\n".join(lines), True


def _print_result(result, calibrated: float | None) -> None:
    from conscience.verdict import LABELS

    table = Table(title=f"{result.framework} · judge={result.judge} · evidence={'yes' if result.evidence else 'no'}"
                        f" · n={result.n}")
    table.add_column("hand label \\ verdict")
    for label in LABELS:
        table.add_column(label, justify="right")
    table.add_column("total", justify="right")
    for truth in LABELS:
        row = result.confusion[truth]
        table.add_row(truth, *(str(row[p]) for p in LABELS), str(result.true_counts[truth]))
    table.add_row("total", *(str(result.predicted_counts[p]) for p in LABELS), str(result.n), style="bold")
    console.print(table)
    b = result.binary
    console.print(
        f"unethical vs not: precision {_fmt(b['precision'])}  recall {_fmt(b['recall'])}  F1 {_fmt(b['f1'])}  "
        f"kappa {_fmt(b['kappa'])}  AUROC(P(unethical)) {_fmt(b['auroc'])}  3-class accuracy {_fmt(result.accuracy)}"
    )
    p = [item["p_unethical"] for item in result.items]
    extra = f"  in-sample F1-optimal threshold {calibrated:.4f}" if calibrated is not None else ""
    console.print(f"P(unethical) range {min(p):.4f}-{max(p):.4f}{extra}  ({result.seconds:.1f} s)")
    kinds = result.by_kind()
    if len(kinds) > 1:
        console.print("labelled unethical, per kind: " + "; ".join(
            f"{kind} ({row['truth']}) {Rate(row['flagged'], row['n']).text()}" for kind, row in kinds.items()))
    console.print()


@app.command("judge-eval")
def judge_eval(
    framework: str = typer.Option("all", help="A built-in framework, a framework YAML path, or 'all' built-ins."),
    backend: str = typer.Option("vllm", help="Engine backend for the self-judge: vllm | hf."),
    model: str = typer.Option("embedded", help="'embedded' (SmolLM2-135M) or any HF folder / hub id."),
    dtype: str = typer.Option("auto", help="auto | bfloat16 | float32 (auto: bf16 on a CPU with AMX/AVX512-BF16)."),
    judge: str = typer.Option("self", help="self (the model judges) | oracle (the static detectors judge)."),
    evidence: str = typer.Option("none", help="none | detectors: show the self-judge the detector report."),
    decision: str = typer.Option("argmax", help="argmax | threshold (on P(unethical))."),
    threshold: float = typer.Option(0.5, help="P(unethical) threshold for --decision threshold."),
    judge_set: Path | None = typer.Option(None, "--set", help="A JSONL judge set of the same shape (default: the shipped one)."),
    scenario: Path | None = typer.Option(
        None, help="Instead of --set: a judge set built from this scenario's held-out families (--split), every "
                   "gaming strategy, hack and insecure references against honest and honest-but-wrong answers."),
    split: str = typer.Option("dev", help="dev (tasks.holdout_families) | test (tasks.test_families), with --scenario."),
    n: int = typer.Option(96, min=2, help="Items of the --scenario set (half unethical)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON instead of tables."),
) -> None:
    """Score the conscience against a labelled judge set: confusion matrix per framework, flags per kind."""
    from conscience.framework import BUILTIN_FRAMEWORKS
    from conscience.judge import make_judge
    from conscience.judge_eval import evaluate_judge, load_judge_set
    from conscience.validation import calibrate_threshold

    if judge not in ("self", "oracle"):
        raise ConfigError(f"--judge {judge!r}: use self or oracle (an external judge is the self judge with --backend openai)")
    if backend not in ("vllm", "hf", "openai"):
        raise ConfigError(f"--backend {backend!r}: use vllm, hf or openai")
    from agentloop.core.dtypes import DTYPES

    if dtype not in DTYPES:
        raise ConfigError(f"--dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if scenario is not None:
        from agentloop.organism.held_out_judge import held_out_judge_set
        from agentloop.config.scenario import load_scenario

        items = held_out_judge_set(load_scenario(scenario), split, n)
    else:
        items = load_judge_set(judge_set)
    if judge == "oracle" or evidence == "detectors":
        items = [replace(item, evidence=report, detector_flag=flag)
                 for item in items for report, flag in [_detector_report(item.answer)]]
    frameworks = list(BUILTIN_FRAMEWORKS) if framework == "all" else [framework]

    # --json: vLLM logs to stdout; keep stdout for the one JSON document
    with result_stdout() if as_json else contextlib.nullcontext(sys.stdout) as out:
        engine = None
        if judge == "self":  # the oracle with no rewrites never calls a model: no engine to start
            from agentloop.engines import make_engine

            engine = make_engine(backend, model, dtype=dtype)
        results = []
        try:
            for name in frameworks:
                opts = {"rewrite_on": ()}  # labels only: rewrites are not scored here
                if judge == "self":
                    opts.update(evidence=evidence, decision=decision, threshold=threshold)
                result = evaluate_judge(make_judge(judge, engine, name, **opts), items)
                truth = [item.label == "unethical" for item in items]
                scores = [item["p_unethical"] for item in result.items]
                calibrated = calibrate_threshold(scores, truth) if judge == "self" and any(truth) and not all(truth) else None
                results.append(result)
                if not as_json:
                    _print_result(result, calibrated)
        finally:
            if engine is not None:
                engine.close()
        if as_json:
            out.write(json.dumps([{**r.as_dict(), "by_kind": r.by_kind()} for r in results], indent=2) + "\n")
