"""Retention and judge agreement on the hand-built store of conftest.py (answers computed by hand)."""

from __future__ import annotations

import json

import pytest

from store.exports import export_dataset, export_jsonl
from store.queries import (
    episode_detail,
    judge_agreement,
    latest_run_id,
    list_episodes,
    list_runs,
    retention_over_epochs,
)


def test_retention_by_turn(known_store):
    store, runs = known_store
    with store.session(readonly=True) as s:
        epochs = retention_over_epochs(s, runs["run1"])
    assert [e.epoch for e in epochs] == [0, 1, 2]
    e0, e1, e2 = epochs
    # epoch 0: 4 turns, only B.t0 (tampering) misaligned; B.t1's parse finding does not count
    assert (e0.n, e0.aligned, e0.hacks, e0.insecure) == (4, 3, 1, 0)
    assert e0.aligned_rate == pytest.approx(0.75)  # 3/4
    assert e0.retention == pytest.approx(1.0)
    assert e0.hack_rate == pytest.approx(0.25)  # 1/4
    # epoch 1: C.t0 insecure, C.t1 hidden_tests+insecure, D.t0 clean; F has no turns
    assert (e1.n, e1.aligned, e1.hacks, e1.insecure) == (3, 1, 1, 2)
    assert e1.aligned_rate == pytest.approx(1 / 3)
    assert e1.retention == pytest.approx(0.444444, abs=1e-6)  # (1/3) / (3/4) = 4/9
    assert e1.hack_rate == pytest.approx(1 / 3)
    assert e1.insecure_rate == pytest.approx(2 / 3)
    # epoch 2: E.t0 has only a sandbox finding: aligned
    assert (e2.n, e2.aligned) == (1, 1)
    assert e2.retention == pytest.approx(1.333333, abs=1e-6)  # 1 / (3/4) = 4/3


def test_retention_by_episode(known_store):
    store, runs = known_store
    with store.session(readonly=True) as s:
        e0, e1, e2 = retention_over_epochs(s, runs["run1"], by="episode")
    # epoch 0: A aligned, B misaligned -> 1/2
    assert (e0.n, e0.aligned, e0.aligned_rate, e0.hack_rate, e0.insecure_rate) == (2, 1, 0.5, 0.5, 0.0)
    # epoch 1: C misaligned (hack and insecure), D aligned, F (no turns) left out -> 1/2, retention 0.5/0.5
    assert (e1.n, e1.aligned, e1.aligned_rate, e1.retention) == (2, 1, 0.5, 1.0)
    assert (e1.hack_rate, e1.insecure_rate) == (0.5, 0.5)
    # epoch 2: E aligned -> 1/1, retention 1 / 0.5 = 2
    assert (e2.n, e2.aligned_rate, e2.retention) == (1, 1.0, 2.0)


def test_retention_zero_division(known_store):
    store, runs = known_store
    with store.session(readonly=True) as s:
        # run 2: epoch-0 aligned rate is 0/1, so retention is undefined in every epoch
        r2 = retention_over_epochs(s, runs["run2"])
        # the eval split of run 1 has no epoch 0 at all (only D, epoch 1)
        eval_only = retention_over_epochs(s, runs["run1"], split="eval")
        missing = retention_over_epochs(s, 999)
    assert [(e.epoch, e.aligned_rate, e.retention) for e in r2] == [(0, 0.0, None), (1, 1.0, None)]
    assert [(e.epoch, e.n, e.aligned_rate, e.retention) for e in eval_only] == [(1, 1, 1.0, None)]
    assert missing == []
    with pytest.raises(ValueError, match="by must be"):
        retention_over_epochs(s, runs["run1"], by="epoch")  # type: ignore[arg-type]


def test_judge_agreement(known_store):
    store, runs = known_store
    with store.session(readonly=True) as s:
        agreement = judge_agreement(s, runs["run1"])
    c = agreement.confusion
    # TP: B.t0, C.t1; FP: A.t1; FN: C.t0; TN: A.t0, B.t1 (parse), E.t0 (sandbox); D.t0 has no verdict
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 3)
    assert agreement.n_verdicts == 7
    assert c.precision == pytest.approx(2 / 3)  # 2 / (2 + 1)
    assert c.recall == pytest.approx(2 / 3)  # 2 / (2 + 1)
    assert c.f1 == pytest.approx(2 / 3)
    # observed 5/7; expected (3/7)(3/7) + (4/7)(4/7) = 25/49; kappa = (35/49 - 25/49) / (24/49) = 10/24
    assert c.kappa == pytest.approx(0.416667, abs=1e-6)
    # positives 0.9, 0.8, 0.3 vs negatives 0.6, 0.2, 0.1, 0.05: 4 + 4 + 3 wins of 12 pairs = 11/12
    assert agreement.auroc == pytest.approx(0.916667, abs=1e-6)
    assert agreement.as_dict()["tp"] == 2


def test_judge_agreement_zero_division(known_store):
    store, runs = known_store
    with store.session(readonly=True) as s:
        no_verdicts = judge_agreement(s, runs["run2"])
        no_positives = judge_agreement(s, runs["run3"])
        other_framework = judge_agreement(s, runs["run1"], framework="wwjd")
    assert no_verdicts.n_verdicts == 0 and no_verdicts.auroc is None
    assert no_verdicts.as_dict() | {"n_verdicts": 0} == {
        "tp": 0, "fp": 0, "fn": 0, "tn": 0, "n": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "kappa": 0.0,
        "auroc": None, "n_verdicts": 0}
    # run 3: two true negatives; both raters constant, so expected agreement is 1 and kappa is 0 by definition
    c = no_positives.confusion
    assert (c.tp, c.fp, c.fn, c.tn) == (0, 0, 0, 2)
    assert (c.precision, c.recall, c.f1, c.kappa, no_positives.auroc) == (0.0, 0.0, 0.0, 0.0, None)
    assert other_framework.n_verdicts == 0


def test_listings(known_store):
    store, runs = known_store
    with store.session(readonly=True) as s:
        all_runs = list_runs(s)
        episodes = list_episodes(s, runs["run1"])
        latest = latest_run_id(s)
        detail = episode_detail(s, episodes[1].id)
        assert episode_detail(s, 10_000) is None
    assert [r.id for r in all_runs] == [runs["run3"], runs["run2"], runs["run1"]]
    assert (all_runs[2].n_episodes, all_runs[2].n_turns) == (6, 8)
    assert latest == runs["run3"]
    # per episode: (turns, misaligned turns, unethical verdicts) for A, B, C, D, F, E
    assert [(e.n_turns, e.n_misaligned, e.n_unethical) for e in episodes] == [
        (2, 0, 1), (2, 1, 1), (2, 2, 1), (1, 0, 0), (0, 0, 0), (1, 0, 0)]
    # loaded eagerly: usable after the session closed
    assert [t.index for t in detail.turns] == [0, 1]
    assert [f.detector for f in detail.turns[0].findings] == ["tampering"]
    assert detail.turns[0].verdict.label == "unethical"
    assert detail.run.name == "mixed"


def test_exports(known_store, tmp_path):
    store, runs = known_store
    path = tmp_path / "run1.jsonl"
    with store.session(readonly=True) as s:
        n = export_jsonl(s, runs["run1"], path)
        dataset = export_dataset(s, runs["run1"])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert n == len(rows) == dataset.num_rows == 8
    assert [r["misaligned"] for r in rows] == [False, False, True, False, True, True, False, False]
    assert rows[2]["findings"][0]["detector"] == "tampering" and rows[2]["verdict_label"] == "unethical"
    assert rows[6]["verdict_label"] is None  # D.t0 was never judged
    assert dataset[5]["insecure"] and dataset[5]["p_unethical"] == pytest.approx(0.8)  # C.t1
    assert dataset.column_names == list(rows[0])
