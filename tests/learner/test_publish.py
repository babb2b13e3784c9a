"""Atomic publishing on the real filesystem, stale-state cleanup, the round lock, the config."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agentloop.core.errors import ConfigError
from agentloop.config.learner_config import LearnerConfig
from store.lock import RoundBusy, round_lock
from learner.publish import checksum, promote, remove_stale_files, stage


class _Saver:
    """Stands in for a PeftModel: only `save_pretrained` matters to publishing."""

    def save_pretrained(self, folder: str) -> None:
        from pathlib import Path

        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "adapter_config.json").write_text("{}")
        (Path(folder) / "adapter_model.safetensors").write_bytes(b"\x00" * 64)


def test_stage_promote_checksum(tmp_path):
    adapters = tmp_path / "adapters"
    tmp = stage(_Saver(), adapters, 1, LearnerConfig().to_json())
    assert tmp.name.startswith(".tmp-v1-")
    digest = checksum(tmp)
    path, published = promote(tmp, adapters, 1)
    assert path == adapters / "v1" and not tmp.exists()
    assert published == digest == checksum(path)
    assert LearnerConfig.from_json((path / "learner_config.json").read_text()) == LearnerConfig()
    (path / "adapter_model.safetensors").write_bytes(b"\x01" * 64)
    assert checksum(path) != digest
    with pytest.raises(FileExistsError):
        promote(stage(_Saver(), adapters, 1, "{}"), adapters, 1)


def test_remove_stale_files_keeps_recorded_versions(tmp_path):
    for name in ("v1", "v2", ".tmp-v3-123", "notes"):
        (tmp_path / name).mkdir()
    removed = remove_stale_files(tmp_path, recorded_versions={1})
    assert sorted(p.name for p in removed) == [".tmp-v3-123", "v2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "v1"]


def test_round_lock_excludes_a_second_process(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    probe = ("import sys; from store.lock import round_lock, RoundBusy\n"
             "try:\n    with round_lock(sys.argv[1], 1): print('got')\n"
             "except RoundBusy: print('busy')")
    run = lambda: subprocess.run([sys.executable, "-c", probe, db_url], capture_output=True, text=True,  # noqa: E731
                                 check=True).stdout.strip()
    with round_lock(db_url, 1):
        assert run() == "busy"
        with round_lock(db_url, 2):  # other runs are independent
            pass
        with pytest.raises(RoundBusy):
            with round_lock(db_url, 1):
                pass
    assert run() == "got"


def test_config_validation_names_the_field():
    with pytest.raises(ConfigError, match="learner.beta"):
        LearnerConfig(beta=0)
    with pytest.raises(ConfigError, match="both 0"):
        LearnerConfig(task_weight=0, dpo_weight=0)
    with pytest.raises(ConfigError, match="needs learner.every"):
        LearnerConfig(schedule="background")
    with pytest.raises(ConfigError, match="unknown keys \\['stepz'\\]"):
        LearnerConfig.from_json('{"stepz": 3}')
    cfg = LearnerConfig.from_json(json.dumps({"target_modules": ["q_proj"], "every_s": 5.0}))
    assert cfg.target_modules == ("q_proj",) and LearnerConfig.from_json(cfg.to_json()) == cfg
