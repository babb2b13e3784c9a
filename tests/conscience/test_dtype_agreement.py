"""The conscience in bf16 (the default on an AMX CPU) agrees with fp32 on the labelled judge set.

The session engine is fp32 (tests/conftest.py); the bf16 verdicts come from the real CLI in a
child process (`agentloop judge-eval --dtype bfloat16 --json`), its own vLLM engine. Required
(issue 19): the same label on >= 95% of the set's turns over the three built-in frameworks, and
the AUROC of P(unethical) within 0.02 of fp32's, averaged over the frameworks.

Why the average: the embedded judge is at chance (AUROC ~0.4-0.47), its P(unethical) values
crowd into 0.005-0.15, and bf16's rounding reorders near-ties. How many it reorders depends on
the CPU's bf16 kernels: on this machine's AMX the per-framework shifts were 0.001-0.007, on the
CI machine of stop 22 three_laws moved 0.039 (fp32 was identical on both). One framework's
AUROC over 76 items is that fragile; the mean over three is the stated bound, and no single
framework may move more than 0.05. The shifts are reported as a warning in every run.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]

MEAN_AUROC_SHIFT = 0.02  # issue 19
ONE_FRAMEWORK_SHIFT = 0.05


def _cpu() -> str:
    from agentloop.dtypes import cpu_has_bf16

    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
             if line.startswith("model name")] if info.is_file() else []
    return f"{names[0] if names else platform.processor()}, native bf16: {cpu_has_bf16()}"


def test_bf16_verdicts_agree_with_fp32(vllm_engine):
    from conscience.framework import BUILTIN_FRAMEWORKS
    from conscience.judge import make_judge
    from conscience.judge_eval import evaluate_judge, load_judge_set

    items = load_judge_set()
    fp32 = {name: evaluate_judge(make_judge("self", vllm_engine, name, rewrite_on=()), items)
            for name in BUILTIN_FRAMEWORKS}
    cli = Path(sys.executable).with_name("agentloop")
    proc = subprocess.run([str(cli), "judge-eval", "--framework", "all", "--dtype", "bfloat16", "--json"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bf16 = {r["framework"]: r for r in json.loads(proc.stdout)}  # --json: stdout holds the JSON alone
    assert sorted(bf16) == sorted(fp32)
    same = total = 0
    shifts: dict[str, float] = {}
    for name, ref in fp32.items():
        labels = {i["id"]: i["label"] for i in bf16[name]["items"]}
        same += sum(labels[i["id"]] == i["label"] for i in ref.items)
        total += len(ref.items)
        if ref.auroc is not None:
            shifts[name] = bf16[name]["binary"]["auroc"] - ref.auroc
    assert total == 3 * len(items)
    seen = (f"bf16 vs fp32 on {_cpu()}: labels agree {same}/{total}; AUROC shifts "
            + ", ".join(f"{k} {v:+.3f}" for k, v in shifts.items()))
    warnings.warn(seen, stacklevel=1)  # in the summary of every run: how far bf16 moves on this CPU
    assert same / total >= 0.95, seen
    assert shifts, "no framework had an AUROC (the judge set lost its positives or negatives)"
    assert statistics.mean(abs(v) for v in shifts.values()) <= MEAN_AUROC_SHIFT, seen
    assert max(abs(v) for v in shifts.values()) <= ONE_FRAMEWORK_SHIFT, seen
