"""Learner speed: our round's pairs/s as it was (fp32, full-vocabulary log-softmax, shuffled batches)
vs the defaults (bf16 where the CPU has it, answer-position logits only, length-bucketed batches,
each pair one packed row [prompt, chosen, rejected]), each step on the way, the optional reference-once setting, and TRL's own `DPOTrainer` on the same
pairs, steps, batch and dtype, all in one run.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \\
        flock /tmp/agentloop-model.lock .venv/bin/python bench/learner_speed.py [--pairs 16] [--json]

The data and settings are bench/training.py's (the flagship's learner block: steps 8, batch 2,
max_length 512, LoRA r8 on q/v, task data n=32; 16 synthetic pairs from real task prompts, half
at turn 2). pairs/s = preference rows trained / seconds of the training loop (RoundResult), the
number bench/training.py reports. Each of our configurations trains a fresh run of the same pairs
in process, so the only difference is the setting named in its row. On a CUDA machine every row
is repeated with device=cuda.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from _table import print_table
from agentloop.core.dtypes import resolve_dtype
from agentloop.launch import Learning
from agentloop.config.scenario import load_scenario
from agentloop.config.learner_config import LearnerConfig
from training import SCENARIO, in_process_round, make_store, parse_args, synthetic_pairs

log = logging.getLogger("bench.learner_speed")


def trl_pairs_per_s(model_path: str, pairs, config: LearnerConfig, device: str, out_dir: Path) -> float:
    """TRL's DPOTrainer, ref_model=None + a PEFT LoRA (its reference = adapters disabled), same pairs,
    steps, batch, max_length, LoRA and dtype; DPO only (TRL has no separate task loss)."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    from learner.train import pick_device

    _, dtype = pick_device(replace(config, device=device))
    rows = [{"prompt": p, "chosen": [{"role": "assistant", "content": c}],
             "rejected": [{"role": "assistant", "content": r}]} for p, c, r in pairs]
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(device)
    args = DPOConfig(output_dir=str(out_dir), max_steps=config.steps, per_device_train_batch_size=config.batch_size,
                     learning_rate=config.lr, beta=config.beta, max_length=config.max_length,
                     gradient_checkpointing=False, bf16=dtype == torch.bfloat16, use_cpu=device == "cpu",
                     report_to="none", save_strategy="no", logging_steps=1, seed=config.seed,
                     disable_tqdm=True, dataloader_num_workers=0)
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=0.0,
                      target_modules=list(config.target_modules), task_type="CAUSAL_LM")

    class Clock(TrainerCallback):  # the training loop only, as RoundResult.train_seconds
        def on_train_begin(self, *a, **k):
            self.t0 = time.perf_counter()

        def on_train_end(self, *a, **k):
            self.seconds = time.perf_counter() - self.t0

    clock = Clock()
    trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer, peft_config=lora, callbacks=[clock])
    trainer.train()
    return config.steps * config.batch_size / clock.seconds


def main() -> None:
    args = parse_args(__doc__)

    from agentloop.model import prepare_embedded

    scenario = load_scenario(SCENARIO)
    model_path = str(prepare_embedded())
    fast_dtype = resolve_dtype("auto", "cpu")
    old = dict(dtype="float32", answer_logits_only=False, reference_once=False, length_buckets=False,
               shared_prompt=False)
    default = dict(dtype=fast_dtype, answer_logits_only=True, reference_once=False, length_buckets=True,
                   shared_prompt=True)
    variants = [  # name, overrides of the flagship's learner config
        ("before: fp32, full log-softmax, shuffled batches", old),
        (f"{fast_dtype} only", {**old, "dtype": fast_dtype}),
        (f"{fast_dtype} + answer logits only", {**old, "dtype": fast_dtype, "answer_logits_only": True}),
        (f"{fast_dtype} + answer logits + length buckets", {**default, "shared_prompt": False}),
        ("default: ... + shared prompt (one packed row a pair)", default),
        ("default + reference once", {**default, "reference_once": True}),
        ("default, DPO only (task_weight 0, as TRL)", {**default, "task_weight": 0.0}),
    ]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-learner-speed-") as tmp:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'learner.db'}"
        pairs = synthetic_pairs(scenario, args.pairs)
        run_ids = make_store(db_url, pairs, len(variants) * len(devices))
        base = LearnerConfig.from_json(Learning(scenario, db_url, run_ids[0], model_path, work).config_json())
        k = 0
        for device in devices:
            for name, overrides in variants:
                learning = Learning(scenario, db_url, run_ids[k], model_path, work / f"r{k}")
                learning.prepare_task_data()
                config = replace(base, device=device, **overrides)
                results[f"{device}: {name}"] = in_process_round(db_url, run_ids[k], model_path, learning, config)
                log.warning("%s %s: %.2f pairs/s", device, name, results[f"{device}: {name}"]["pairs_per_s"])
                k += 1
            fast_config = replace(base, device=device, dtype=fast_dtype if device == "cpu" else "auto")
            results[f"{device}: TRL DPOTrainer"] = {"pairs_per_s": trl_pairs_per_s(model_path, pairs, fast_config,
                                                                                    device, work / f"trl-{device}")}
    rows = [("settings (flagship learner)", f"steps {base.steps}, batch {base.batch_size}, max_length "
                                            f"{base.max_length}, LoRA r{base.lora_r} {'+'.join(base.target_modules)}, "
                                            f"{args.pairs} pairs")]
    for device in devices:
        before = results[f"{device}: {variants[0][0]}"]["pairs_per_s"]
        unpacked = results[f"{device}: {variants[3][0]}"]["pairs_per_s"]
        fast = results[f"{device}: {variants[4][0]}"]["pairs_per_s"]
        trl = results[f"{device}: TRL DPOTrainer"]["pairs_per_s"]
        for name, _ in variants:
            r = results[f"{device}: {name}"]
            rows.append((f"{device} {name}: pairs/s", f"{r['pairs_per_s']:.3f}  ({r['pairs_per_s'] / before:.2f}x before)"))
        rows.append((f"{device} TRL DPOTrainer ({fast_dtype if device == 'cpu' else 'bf16'}, ref_model=None): pairs/s",
                     f"{trl:.3f}  ({trl / before:.2f}x before)"))
        dpo_only = results[f"{device}: {variants[6][0]}"]["pairs_per_s"]
        rows.append((f"{device} ours default / before", f"{fast / before:.2f}x"))
        rows.append((f"{device} shared prompt / two rows a pair", f"{fast / unpacked:.2f}x"))
        rows.append((f"{device} ours default (task+DPO) / TRL (DPO only)", f"{fast / trl:.2f}x"))
        rows.append((f"{device} ours default DPO only / TRL", f"{dpo_only / trl:.2f}x"))
    print_table(rows)
    if args.json:
        print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
