"""Engines, judges, sandboxes and detectors are chosen by name from one registry each; an unknown name
lists the choices, and a plugin (an entry point of agentloop.<kind>s) is chosen like a built-in, from
code and from a scenario."""

from __future__ import annotations

import pytest

from agentloop.core.errors import ConfigError, SandboxError
from agentloop.core.registry import PluginError, plugins


@pytest.fixture
def entry_points(tmp_path, monkeypatch):
    """Install entry points the way pip leaves them: write(group, name, "module:attr")."""
    dist = tmp_path / "agentloop_test_plugins-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: agentloop-test-plugins\nVersion: 0.1\n")
    lines: list[str] = []

    def write(group: str, name: str, value: str) -> None:
        lines.append(f"[{group}]\n{name} = {value}\n")
        (dist / "entry_points.txt").write_text("\n".join(lines))
        plugins.cache_clear()

    monkeypatch.syspath_prepend(str(tmp_path))
    yield write
    monkeypatch.undo()
    plugins.cache_clear()


def test_unknown_names_list_the_choices():
    from agentloop.engines import make_engine
    from agentloop.sandbox import get_sandbox
    from conscience.judge import make_judge

    with pytest.raises(ConfigError, match="unknown engine backend 'tensorflow': choose one of hf, openai, vllm"):
        make_engine("tensorflow")
    with pytest.raises(ConfigError, match="unknown conscience judge 'kant': choose one of always, external, oracle, random, self"):
        make_judge("kant", None, "three_laws")
    with pytest.raises(SandboxError, match="unknown sandbox backend 'docker': choose one of bwrap, rlimit"):
        get_sandbox("docker")


def test_a_plugin_judge_is_chosen_by_name_in_code_and_scenario(entry_points, tmp_path):
    from agentloop.config.scenario import load_scenario
    from agentloop.core.paths import repo_root
    from conscience.judge import JUDGES, OracleJudge, make_judge

    entry_points("agentloop.judges", "detectors_only", "conscience.judge:OracleJudge")
    assert "detectors_only" in JUDGES.names() and "detectors_only" not in JUDGES.builtin_names()
    judge = make_judge("detectors_only", None, "three_laws", evidence="detectors", rewrite_on=())
    assert isinstance(judge, OracleJudge)  # the oracle's ignored options are dropped for the plugin too
    smoke = (repo_root() / "scenarios" / "smoke.yaml").read_text()
    path = tmp_path / "s.yaml"
    path.write_text(smoke.replace("  mode: observe\n", "  mode: observe\n  judge: detectors_only\n"))
    assert load_scenario(path).conscience.judge == "detectors_only"


def test_a_plugin_clashing_with_a_builtin_is_an_error(entry_points):
    from agentloop.engines import ENGINES

    entry_points("agentloop.engines", "hf", "agentloop.engines:make_engine")
    with pytest.raises(PluginError, match="plugin 'hf' in group 'agentloop.engines' clashes with the built-in"):
        ENGINES.names()
