"""Which dtype the engine and the learner compute in: detection, the scenario field, the CLI override."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agentloop.core.dtypes import cpu_has_bf16, resolve_dtype, torch_dtype
from agentloop.core.errors import ConfigError
from agentloop.core.paths import repo_root


def _cpuinfo(tmp_path: Path, flags: str) -> str:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: x\nflags\t\t: fpu sse2 avx512f {flags}\n\nprocessor\t: 1\n")
    return str(path)


@pytest.mark.parametrize("flags, expected", [("amx_bf16 amx_tile", True), ("avx512_bf16", True),
                                             ("avx2 avx512bw", False), ("", False)])
def test_bf16_detection_reads_the_cpu_flags(tmp_path, flags, expected):
    assert cpu_has_bf16(_cpuinfo(tmp_path, flags)) is expected


def test_no_cpuinfo_means_no_bf16(tmp_path):
    assert cpu_has_bf16(str(tmp_path / "missing")) is False


def test_auto_follows_the_cpu_and_explicit_values_win(monkeypatch):
    import agentloop.core.dtypes as dtypes

    monkeypatch.setattr(dtypes, "cpu_has_bf16", lambda: True)
    assert resolve_dtype("auto", "cpu") == "bfloat16"
    monkeypatch.setattr(dtypes, "cpu_has_bf16", lambda: False)
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype("bfloat16", "cpu") == "bfloat16"
    assert resolve_dtype("float32", "cuda") == "float32"
    assert resolve_dtype("auto", "cuda") == "auto"  # vLLM's own choice on CUDA, as before
    assert torch_dtype("auto", "cuda") is torch.bfloat16  # and bf16 for torch code there, as before
    with pytest.raises(ValueError, match="dtype must be one of"):
        resolve_dtype("fp16", "cpu")


def test_scenario_dtype_field_and_override(tmp_path):
    from agentloop.config.scenario import load_scenario

    scenario = load_scenario(repo_root() / "scenarios" / "smoke.yaml")
    assert scenario.model.dtype == "auto"
    assert scenario.with_overrides(dtype="float32").model.dtype == "float32"
    with pytest.raises(ConfigError, match="--dtype"):
        scenario.with_overrides(dtype="half")
    bad = tmp_path / "bad.yaml"
    bad.write_text((repo_root() / "scenarios" / "smoke.yaml").read_text().replace("model:\n", "model:\n  dtype: fp8\n", 1))
    with pytest.raises(ConfigError, match=r"line \d+: model\.dtype"):
        load_scenario(bad)


def test_learner_gets_the_scenario_dtype(tmp_path):
    from agentloop.launch import Learning
    from agentloop.config.scenario import load_scenario
    from agentloop.config.learner_config import LearnerConfig
    from learner.train import pick_device
    from store.session import ensure_schema

    url = f"sqlite:///{tmp_path / 'agentloop.db'}"
    ensure_schema(url)
    scenario = load_scenario(repo_root() / "scenarios" / "smoke.yaml").with_overrides(dtype="float32")
    config = LearnerConfig.from_json(Learning(scenario, url, 1, "m", tmp_path).config_json())
    assert config.dtype == "float32"
    assert pick_device(config) == ("cpu", torch.float32) or torch.cuda.is_available()
    with pytest.raises(ConfigError, match="learner.dtype"):
        LearnerConfig(dtype="half")
