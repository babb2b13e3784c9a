"""Arms of one seed train on the same task batches whatever pairs they made (issue 26): each random
stream is keyed by (seed, round version, purpose), not drawn after another consumer's draws."""

from __future__ import annotations

import random
from dataclasses import replace

from agentloop.config.learner_config import LearnerConfig
from learner.distributed import Group
from learner.encode import EncodedPair
from learner.streams import stream_seed
from learner.train import Encoded, batch_plan


def _round(n_pairs: int, seed: int = 3) -> Encoded:
    rng = random.Random(seed)
    pairs = [EncodedPair(prompt_ids=[1] * rng.randint(5, 40), chosen_ids=[2] * rng.randint(2, 30),
                         rejected_ids=[3] * rng.randint(2, 30)) for _ in range(n_pairs)]
    task_rng = random.Random(seed + 1)  # the same task data in every arm
    task = [{"input_ids": [4] * task_rng.randint(10, 90), "labels": [4] * 10} for _ in range(9)]
    return Encoded(pairs=pairs, task=task)


def test_task_batches_do_not_depend_on_the_pairs():
    config = LearnerConfig(steps=8, batch_size=2, seed=5, length_buckets=True)
    plans = {n: batch_plan(_round(n), config, round_seed=2) for n in (0, 1, 12)}
    task = {n: plan[1] for n, plan in plans.items()}
    assert len(task[0]) == 8 and task[0] == task[1] == task[12]
    assert plans[0][0] == [] and len(plans[12][0]) == 8
    # another round version, or another seed, draws other batches
    assert batch_plan(_round(1), config, round_seed=3)[1] != task[0]
    assert batch_plan(_round(1), replace(config, seed=6), round_seed=2)[1] != task[0]


def test_the_dpo_weight_does_not_move_the_task_batches():
    config = LearnerConfig(steps=6, batch_size=3, seed=1)
    with_dpo = batch_plan(_round(4), config, 1, use_dpo=True)[1]
    without = batch_plan(_round(4), replace(config, dpo_weight=0.0), 1, use_dpo=False)[1]
    assert with_dpo == without


def test_ranks_take_slices_of_the_same_global_batches():
    config = LearnerConfig(steps=4, batch_size=2, seed=9, length_buckets=False)
    ranks = [batch_plan(_round(6), config, 1, Group(rank=r, world_size=2))[1] for r in (0, 1)]
    single = batch_plan(_round(6), replace(config, batch_size=4), 1)[1]
    assert [a + b for a, b in zip(*ranks)] == single


def test_streams_are_keyed_by_seed_version_and_purpose():
    keys = {(s, v, p): stream_seed(s, v, p) for s in (0, 1) for v in (1, 2) for p in ("task_batches", "replay")}
    assert len(set(keys.values())) == len(keys)
    assert stream_seed(0, 1, "replay") == stream_seed(0, 1, "replay")  # no process-dependent hash
