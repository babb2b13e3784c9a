"""The vLLM KV block size: 32 on CPU unless the scenario sets one, and the session engine really uses it."""

from __future__ import annotations

import pytest

from agentloop.config.scenario import load_scenario
from agentloop.core.errors import EngineError
from agentloop.engines.config import EngineConfig


def test_cpu_default_is_32_and_a_setting_wins():
    assert EngineConfig(model="m", device="cpu").resolved_block_size() == 32
    assert EngineConfig(model="m", device="cpu", block_size=128).resolved_block_size() == 128
    assert EngineConfig(model="m", device="cuda").resolved_block_size() is None  # vLLM's own
    assert EngineConfig(model="m", device="cuda", block_size=16).resolved_block_size() == 16


def test_cpu_block_size_not_a_multiple_of_32_is_a_clear_error():
    with pytest.raises(EngineError, match=r"model\.block_size 48: .*multiple of 32"):
        EngineConfig(model="m", device="cpu", block_size=48).resolved_block_size()


def test_scenario_model_block_size_reaches_the_engine_options(monkeypatch, tmp_path):
    import agentloop.engines
    from agentloop.launch import make_engine_for

    seen = {}
    monkeypatch.setattr(agentloop.engines, "make_engine", lambda backend, path, **options: seen.update(options))
    (tmp_path / "s.yaml").write_text("name: s\nmodel:\n  block_size: 64\n")
    scenario = load_scenario(tmp_path / "s.yaml")
    make_engine_for(scenario, "/models/m")
    assert seen["block_size"] == 64


@pytest.mark.model
def test_session_engine_runs_with_the_resolved_block_size(vllm_engine):
    expected = vllm_engine.config.resolved_block_size()
    if expected is None:
        pytest.skip("vLLM chooses the block size on this device")
    assert vllm_engine.llm.llm_engine.vllm_config.cache_config.block_size == expected
