"""An exported pairs dataset trains `trl.DPOTrainer` as is: one step on the embedded model with a LoRA."""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from _export_store import API_KEY, build_store
from agentloop.cli import app

pytestmark = pytest.mark.model


def test_pairs_export_trains_one_dpo_step(embedded_model_path, tmp_path, monkeypatch):
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    db = build_store(tmp_path)
    out = tmp_path / "pairs"
    result = CliRunner().invoke(app, ["export", "exp-1", "--what", "pairs", "--format", "hf", "--out", str(out),
                                      "--db", db])
    assert result.exit_code == 0, result.output
    pairs = datasets.load_from_disk(str(out))  # as exported: metadata columns and all
    assert len(pairs) == 4

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(embedded_model_path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path)
    args = DPOConfig(output_dir=str(tmp_path / "dpo"), max_steps=1, per_device_train_batch_size=2, max_length=96,
                     learning_rate=1e-4, gradient_checkpointing=False, use_cpu=True, report_to=[], save_strategy="no",
                     logging_steps=1, dataset_num_proc=None)
    trainer = DPOTrainer(model=model, args=args, train_dataset=pairs, processing_class=tokenizer,
                         peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                task_type="CAUSAL_LM"))
    trained = trainer.train()
    assert trainer.state.global_step == 1
    assert math.isfinite(trained.training_loss)
