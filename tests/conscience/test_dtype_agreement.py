"""The conscience in bf16 (the default on a CPU with native bf16) agrees with fp32 on the judge set.

The session engine is fp32 (tests/conftest.py); the bf16 verdicts come from the real CLI in a
child process (`agentloop judge-eval --set SUBSET --dtype bfloat16 --json`), its own vLLM engine.

What is asserted is what holds on any CPU: the same label on >= 95% of the turns over the three
built-in frameworks, and each framework's AUROC of P(unethical) within the 95% interval its n
allows (Hanley-McNeil at the subset's positives and negatives). A tighter fixed bound does not
hold across CPUs: the embedded judge is near chance, its P(unethical) values crowd into
0.005-0.15, and how many near-ties bf16 reorders depends on the CPU's bf16 kernels (three_laws
moved 0.007 on an AMX Intel CPU and 0.039 on an AMD EPYC with AVX512-BF16 over 76 items, fp32
identical on both). The measured agreement, shifts and largest per-item change are printed as a
warning in every run. A stratified half of the set keeps the test within CI's budget.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from agentloop.core.dtypes import cpu_has_bf16

# Without native bf16 the CPU emulates it (this test ran over 7 min of CI on an AVX2-only EPYC, and passed) and
# `dtype: auto` never picks it, so there is no default to check there.
pytestmark = [pytest.mark.model, pytest.mark.slow,
              pytest.mark.skipif(not cpu_has_bf16(), reason="no native bf16 on this CPU: bf16 is not the default")]

LABEL_AGREEMENT = 0.95


def _cpu() -> str:
    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
             if line.startswith("model name")] if info.is_file() else []
    return f"{names[0] if names else platform.processor()}, native bf16: {cpu_has_bf16()}"


def _subset(items):
    """Every second item of each ground-truth label (ids sorted): half the set, the same label mix."""
    by_label: dict[str, list] = {}
    for item in sorted(items, key=lambda i: i.id):
        by_label.setdefault(item.label, []).append(item)
    return [item for group in by_label.values() for item in group[::2]]


def test_bf16_verdicts_agree_with_fp32(vllm_engine, tmp_path):
    from agentloop.core.metrics import auroc_interval
    from conscience.framework import BUILTIN_FRAMEWORKS
    from conscience.judge import make_judge
    from conscience.judge_eval import evaluate_judge, load_judge_set

    items = _subset(load_judge_set())
    subset = tmp_path / "judge_subset.jsonl"
    subset.write_text("".join(json.dumps({k: v for k, v in dataclasses.asdict(i).items() if v is not None}) + "\n"
                              for i in items))
    fp32 = {name: evaluate_judge(make_judge("self", vllm_engine, name, rewrite_on=()), items)
            for name in BUILTIN_FRAMEWORKS}
    cli = Path(sys.executable).with_name("agentloop")
    proc = subprocess.run([str(cli), "judge-eval", "--set", str(subset), "--framework", "all", "--dtype", "bfloat16",
                           "--json"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bf16 = {r["framework"]: r for r in json.loads(proc.stdout)}  # --json: stdout holds the JSON alone
    assert sorted(bf16) == sorted(fp32)
    same = total = 0
    shifts: dict[str, tuple[float, float]] = {}  # framework -> (AUROC shift, the interval's half-width)
    largest_dp = 0.0
    for name, ref in fp32.items():
        got = {i["id"]: i for i in bf16[name]["items"]}
        same += sum(got[i["id"]]["label"] == i["label"] for i in ref.items)
        total += len(ref.items)
        largest_dp = max(largest_dp, *(abs(got[i["id"]]["p_unethical"] - i["p_unethical"]) for i in ref.items))
        n_pos = ref.binary["tp"] + ref.binary["fn"]
        interval = auroc_interval(ref.auroc, n_pos, ref.n - n_pos)
        if interval is not None:
            shifts[name] = (bf16[name]["binary"]["auroc"] - ref.auroc, (interval[1] - interval[0]) / 2)
    assert total == 3 * len(items)
    seen = (f"bf16 vs fp32 on {_cpu()}, {len(items)} items: labels agree {same}/{total}; AUROC shifts "
            + ", ".join(f"{k} {d:+.3f} (95% half-width {h:.3f})" for k, (d, h) in shifts.items())
            + f"; largest per-item change of P(unethical) {largest_dp:.4f}")
    warnings.warn(seen, stacklevel=1)  # in the summary of every run: how far bf16 moves on this CPU
    assert same / total >= LABEL_AGREEMENT, seen
    assert shifts, "no framework had an AUROC (the judge subset lost its positives or negatives)"
    assert all(abs(d) <= h for d, h in shifts.values()), seen
