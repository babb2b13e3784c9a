"""The conscience in bf16 (the default on an AMX CPU) agrees with fp32 on the labelled judge set.

The session engine is fp32 (tests/conftest.py); the bf16 verdicts come from the real CLI in a
child process (`agentloop judge-eval --dtype bfloat16 --json`), its own vLLM engine. Required
(issue 19): the same label on >= 95% of the set's turns, over all three built-in frameworks, and
the AUROC of P(unethical) within 0.02 of fp32's for each framework.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]


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
    for name, ref in fp32.items():
        labels = {i["id"]: i["label"] for i in bf16[name]["items"]}
        same += sum(labels[i["id"]] == i["label"] for i in ref.items)
        total += len(ref.items)
        if ref.auroc is not None:
            assert abs(bf16[name]["binary"]["auroc"] - ref.auroc) <= 0.02, (name, ref.auroc, bf16[name]["binary"])
    assert total == 3 * len(items)
    assert same / total >= 0.95, f"bf16 and fp32 verdicts agree on {same}/{total}"
