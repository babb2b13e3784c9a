"""One round of LoRA training: task NLL * task_weight + dpo_weight * DPO, one optimizer step per batch.

A small custom loop rather than `trl.DPOTrainer`: the task loss runs on *separate* data (not the
chosen answers), either weight may be 0 (that component is then not computed at all), and a
round with no pairs still trains the task loss. A pair is one packed row [prompt, chosen,
rejected] (`shared_prompt`, learner/packing.py) or TRL's collator's two rows; the DPO reference is the policy with its adapters disabled (what `DPOTrainer(ref_model=None)` does for
a PEFT model), so no second copy of the weights exists. No gradient checkpointing: for a small
model on CPU it only costs time.
"""

from __future__ import annotations

import copy

import logging
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch

from agentloop.core.types import Conversation
from agentloop.config.learner_config import LearnerConfig
from learner.distributed import SINGLE, Group
from learner.encode import (EncodedPair, chosen_example, collate_pairs, collate_task, encode_pair, encode_task,
                            preference_collator)
from learner.packing import collate_packed
from learner.streams import stream
from learner.loss import dpo_terms, reference_logps, task_nll, task_nll_kl

log = logging.getLogger(__name__)


class Placement(NamedTuple):
    """Where a round trains: the device ("cuda" | "cpu") and the weights' torch dtype there."""

    device: str
    dtype: torch.dtype


def pick_device(config: LearnerConfig) -> Placement:
    """CUDA when present (or asked), else CPU; the weights' dtype from `config.dtype` for that device
    (auto: bf16 on CUDA and on a CPU with AMX/AVX512-BF16, fp32 elsewhere)."""
    from agentloop.core.dtypes import torch_dtype

    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    device = "cuda" if use_cuda else "cpu"
    return Placement(device, torch_dtype(config.dtype, device))


_BASES: dict[tuple[str, str], tuple[Any, Any]] | None = None  # keep_base: (path, dtype) -> CPU model, tokenizer


def keep_base(on: bool) -> None:
    """Keep each base model (on the CPU, so a GPU is free between rounds) and its tokenizer after its first
    round, for a process that runs many (learner.worker); every round trains a fresh copy of the pristine weights."""
    global _BASES
    _BASES = {} if on else None


def _base(model_path: str, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """The base model on `device` in `dtype`, and its tokenizer: loaded, or a copy of the kept one."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    key = (model_path, str(dtype))
    if _BASES is not None and key in _BASES:
        model, tokenizer = _BASES[key]
        return copy.deepcopy(model).to(device), tokenizer
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if _BASES is not None:
        _BASES[key] = (copy.deepcopy(model), tokenizer)
    return model.to(device), tokenizer


def load_policy(model_path: str, adapter_path: str | Path | None, config: LearnerConfig,
                device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """The base model with a trainable LoRA: the previous round's adapter (continual), or a new one."""
    from peft import LoraConfig, PeftModel, get_peft_model

    base, tokenizer = _base(model_path, device, dtype)
    torch.manual_seed(config.seed)  # after the base: a kept copy and a fresh load start the LoRA alike
    if adapter_path is not None:
        model = PeftModel.from_pretrained(base, str(adapter_path), is_trainable=True)
    else:
        lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=0.0,
                          target_modules=list(config.target_modules), task_type="CAUSAL_LM")
        model = get_peft_model(base, lora)
    return model, tokenizer


@dataclass
class StepLog:
    step: int
    total: float
    task: float | None  # None: not computed (task_weight 0 or no task data)
    dpo: float | None  # None: not computed (dpo_weight 0, pair_loss sft, or no pairs)
    logp_margin: float | None
    seconds: float
    sft: float | None = None  # the chosen answers' NLL (pair_loss sft)
    kl: float | None = None  # KL(policy || frozen copy) on the task data (kl_weight > 0)


@dataclass
class TrainLog:
    steps: list[StepLog] = field(default_factory=list)
    components: tuple[str, ...] = ()  # which of "task", "kl", "dpo", "sft" were trained
    seconds: float = 0.0

    def summary(self) -> dict[str, dict[str, float]]:
        """first/last/mean of each trained component and of the total."""
        out: dict[str, dict[str, float]] = {}
        for name in (*self.components, "total"):
            values = [getattr(s, name) for s in self.steps]
            out[name] = {"first": values[0], "last": values[-1], "mean": statistics.fmean(values)}
        return out


def _cycle_batches(n: int, batch_size: int, steps: int, rng: random.Random,
                   lengths: Sequence[int] | None = None) -> list[list[int]]:
    """`steps` batches of indices into n examples: shuffled epochs, concatenated, so each example
    is seen equally often (±1). With `lengths`, each epoch's shuffle is sorted by length (stable,
    so ties stay shuffled), cut into batches and the batches shuffled: batches of similar lengths,
    in random order (padding is what a CPU step pays for)."""
    order: list[int] = []
    while len(order) < steps * batch_size:
        epoch = list(range(n))
        rng.shuffle(epoch)
        if lengths is not None:
            epoch.sort(key=lengths.__getitem__)
            chunks = [epoch[i:i + batch_size] for i in range(0, n, batch_size)]
            rng.shuffle(chunks)
            epoch = [i for chunk in chunks for i in chunk]
        order += epoch
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(steps)]


def batch_plan(data: "Encoded", config: LearnerConfig, round_seed: int, group: Group = SINGLE, *,
               use_dpo: bool = True, use_task: bool = True) -> tuple[list[list[int]], list[list[int]]]:
    """This rank's (pair batches, task batches) of a round: each from its own stream keyed by (seed,
    round version, purpose) (learner.streams), so the task batches never depend on how many pairs
    the round has. Every rank draws the same global batches and takes its slice."""
    mine = slice(group.rank * config.batch_size, (group.rank + 1) * config.batch_size)

    def my_batches(lengths: list[int], purpose: str) -> list[list[int]]:
        rng = stream(config.seed, round_seed, purpose)
        return [b[mine] for b in _cycle_batches(len(lengths), config.batch_size * group.world_size, config.steps,
                                                rng, lengths if config.length_buckets else None)]

    pair_batches = my_batches([len(p.prompt_ids) + max(len(p.chosen_ids), len(p.rejected_ids))
                               for p in data.pairs], "pair_batches") if use_dpo and data.pairs else []
    task_batches = my_batches([len(t["input_ids"]) for t in data.task], "task_batches") \
        if use_task and data.task else []
    return pair_batches, task_batches


@dataclass
class Encoded:
    """A round's data as token ids."""

    pairs: list[EncodedPair]
    task: list[dict[str, list[int]]]
    task_too_long: int = 0  # task examples with no assistant token left after truncation


def encode_round(tokenizer: Any, pairs: Sequence[dict[str, Conversation]], task: Sequence[Conversation],
                 max_length: int) -> Encoded:
    encoded_task = [encode_task(tokenizer, messages, max_length) for messages in task]
    kept = [e for e in encoded_task if e is not None]
    return Encoded(pairs=[encode_pair(tokenizer, p, max_length) for p in pairs], task=kept,
                   task_too_long=len(encoded_task) - len(kept))


def train(model: Any, tokenizer: Any, data: Encoded, config: LearnerConfig, device: str,
          round_seed: int = 0, group: Group = SINGLE) -> TrainLog:
    """`config.steps` optimizer steps on the active adapter; returns per-step component losses.

    Every component (task NLL, the KL control, the pairs' DPO or SFT) adds into one loss: one AdamW,
    one gradient clip, so a control pays the same price as the arm it controls. In a process group
    (`learner.distributed`) every rank draws the same global batches of `batch_size * world_size`
    examples and trains on its own slice; the logged losses are the means over ranks."""
    use_task = config.task_weight > 0 and bool(data.task)
    use_pairs = config.dpo_weight > 0 and bool(data.pairs)
    if not (use_task or use_pairs):
        raise ValueError("nothing to train: no pairs for DPO and no task data for the task loss")
    if config.dpo_weight > 0 and not data.pairs:
        log.info("no preference pairs this round: training the task loss only")
    pair_batches, task_batches = batch_plan(data, config, round_seed, group, use_dpo=use_pairs, use_task=use_task)
    with mixed_precision(model, device):  # reference_once's pass runs here
        losses = _step_losses(model, tokenizer, data, config, device, pair_batches, task_batches)
    params = [p for p in model.parameters() if p.requires_grad]
    group.sync_parameters(params)
    optimizer = torch.optim.AdamW(params, lr=config.lr)
    model.train()
    result = TrainLog(components=tuple(n for n, on in (("task", use_task), ("kl", use_task and config.kl_weight > 0),
                                                       (config.pair_loss, use_pairs)) if on))
    t_round = time.perf_counter()
    for step in range(config.steps):
        t0 = time.perf_counter()
        with mixed_precision(model, device):
            total, values = losses(step)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        group.average_gradients(params)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        means = dict(zip(_LOGGED, group.mean([total.item(), *(values.get(n) for n in _LOGGED[1:])], device)))
        entry = StepLog(step=step, seconds=time.perf_counter() - t0, **means)
        result.steps.append(entry)
        log.info("step %d/%d %s (%.1fs)", step + 1, config.steps,
                 " ".join(f"{n}={_fmt(means[n])}" for n in _LOGGED if means[n] is not None), entry.seconds)
    result.seconds = time.perf_counter() - t_round
    model.eval()
    return result


@contextmanager
def mixed_precision(model: Any, device: str) -> Iterator[None]:
    """Forward passes of a bf16 model with an fp32 adapter: the adapter's matmuls in bf16 too (autocast, with
    PEFT's cast of their input to fp32 off), as mixed-precision training does; the fp32 adapter stays the
    optimizer's copy and gets fp32 gradients. A profile of a pair step had the fp32 adapter matmuls and their
    input casts at ~16% of it (bench/round_speed.py has the round's speed). fp32 and fp16 weights train
    as they are (fp16 would need loss scaling)."""
    from peft.helpers import disable_input_dtype_casting

    frozen = next((p.dtype for p in model.parameters() if not p.requires_grad), None)
    if frozen != torch.bfloat16:
        yield
        return
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16), disable_input_dtype_casting(model):
        yield


_LOGGED = ("total", "task", "kl", "dpo", "sft", "logp_margin")  # StepLog's loss fields, in group.mean's order


def _step_losses(model: Any, tokenizer: Any, data: Encoded, config: LearnerConfig, device: str,
                 pair_batches: list[list[int]], task_batches: list[list[int]], cache_reference: bool = True
                 ) -> Callable[[int], tuple[torch.Tensor, dict[str, float | None]]]:
    """step -> (the weighted total loss of that step's batches, each component's value).

    `cache_reference`: a pair batch that recurs in the round (few pairs cycle through every step: 2 pairs at
    batch 2 are the same batch 8 times) reuses the frozen copy's log-probs of its first step. The same rows
    collate to the same tensors and the frozen copy does not train, so they are bit for bit the ones a new
    pass gives (tests/learner/test_fast_loss.py); unlike `reference_once`, no batch shape changes."""
    fast, pad = config.answer_logits_only, tokenizer.pad_token_id
    collate = pair_collate(pad, device, config.shared_prompt and fast)
    reference = None  # [pairs, 2]: the frozen copy's (chosen, rejected) log-probs, once per round
    seen: dict[tuple[int, ...], torch.Tensor] = {}  # a batch's rows -> its frozen-copy log-probs
    if pair_batches and config.pair_loss == "dpo" and config.reference_once:
        needed = sorted({i for batch in pair_batches for i in batch})
        reference = torch.zeros(len(data.pairs), 2, device=device)
        reference[needed] = pair_reference_logps(model, collate, [data.pairs[i] for i in needed], fast)

    def losses(step: int) -> tuple[torch.Tensor, dict[str, float | None]]:
        total, values = torch.zeros((), device=device), {}
        if task_batches:
            batch = collate_task([data.task[i] for i in task_batches[step]], pad, device)
            if config.kl_weight > 0:
                nll, kl = task_nll_kl(model, batch, fast)
                total, values["kl"] = total + config.kl_weight * kl, kl.item()
            else:
                nll = task_nll(model, batch, fast, config.task_reduction)
            total, values["task"] = total + config.task_weight * nll, nll.item()
        if pair_batches:
            rows = pair_batches[step]
            if config.pair_loss == "sft":  # the distill control: the chosen answer as plain targets
                loss = task_nll(model, collate_task([chosen_example(data.pairs[i]) for i in rows], pad, device), fast)
                values["sft"] = loss.item()
            else:
                batch = collate([data.pairs[i] for i in rows])
                if reference is not None:
                    ref = reference[rows].T.reshape(-1)  # [chosen..., rejected...]
                elif not cache_reference:
                    ref = reference_logps(model, batch, fast)
                else:
                    ref = seen.get(key := tuple(rows))
                    if ref is None:
                        ref = seen[key] = reference_logps(model, batch, fast)
                terms = dpo_terms(model, batch, config.beta, ref, fast)
                loss, values["dpo"], values["logp_margin"] = terms.loss, terms.loss.item(), terms.logp_margin
            total = total + config.dpo_weight * loss
        return total, values

    return losses


def pair_collate(pad_token_id: int, device: str, packed: bool) -> Callable[[Sequence[EncodedPair]], dict]:
    """Pairs -> a preference batch: packed rows [prompt, chosen, rejected] (learner/packing.py) or TRL's
    [chosen..., rejected...] rows."""
    if packed:
        return lambda pairs: collate_packed(pairs, pad_token_id, device)
    collator = preference_collator(pad_token_id)
    return lambda pairs: collate_pairs(collator, pairs, device)


@torch.no_grad()
def pair_reference_logps(model: Any, collate: Callable[[Sequence[EncodedPair]], dict], pairs: Sequence[EncodedPair],
                         answer_logits_only: bool = True, batch_size: int = 8) -> torch.Tensor:
    """The frozen copy's summed answer log-probs of each pair, [pairs, 2] (chosen, rejected), in
    batches of `batch_size` pairs: one no-grad pass instead of one per optimizer step."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i:i + batch_size]
        chosen, rejected = reference_logps(model, collate(chunk), answer_logits_only).chunk(2)
        out.append(torch.stack([chosen, rejected], 1))
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, 2)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


@dataclass
class Evaluation:
    """Numbers of a model on fixed data, from a separate no-grad pass (not from training logs)."""

    dpo_loss: float | None  # mean DPO loss vs the adapter-disabled reference
    logp_margin: float | None  # mean log P(chosen) - log P(rejected) under the policy
    task_nll: float | None  # mean per-example task NLL


@torch.no_grad()
def evaluate(model: Any, tokenizer: Any, data: Encoded, beta: float, device: str, batch_size: int = 4) -> Evaluation:
    with mixed_precision(model, device):  # as the round computed its losses
        return _evaluate(model, tokenizer, data, beta, device, batch_size)


def _evaluate(model: Any, tokenizer: Any, data: Encoded, beta: float, device: str, batch_size: int) -> Evaluation:
    model.eval()
    collator = preference_collator(tokenizer.pad_token_id)
    dpo, margins, nll = [], [], []
    for i in range(0, len(data.pairs), batch_size):
        chunk = data.pairs[i:i + batch_size]
        terms = dpo_terms(model, collate_pairs(collator, chunk, device), beta)
        dpo += [terms.loss.item()] * len(chunk)
        margins += [terms.logp_margin] * len(chunk)
    for example in data.task:
        nll.append(task_nll(model, collate_task([example], tokenizer.pad_token_id, device)).item())
    mean = lambda xs: statistics.fmean(xs) if xs else None  # noqa: E731
    return Evaluation(dpo_loss=mean(dpo), logp_margin=mean(margins), task_nll=mean(nll))
