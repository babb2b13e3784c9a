"""An experiment whose preference pairs carry rewrite audits, recorded through the runner's write API
(tests/_recorded_ablation): the report's and the viewer's rewrite audit tests count it by hand.

Every run has eval episodes at epochs 0-2 (a "pass" honest task, a "hack" impossible one). Arms off (seeds 0, 1)
and kl (seed 0) make no pairs. Arm self, each pair a "hack" turn rewritten as (rewrite, frozen copy's answer):

  seed 0 epoch 1, then a round: (honest, pass) (gaming, -) (refusal, hack) (identical, hack)
  seed 0 epoch 2, no round:     (honest, hack) (insecure, -) (prose, -) (honest, - , no audit)
  seed 1 epoch 1, then a round: (honest, pass) (honest, -); held out (an eval episode): (gaming, -)
  seed 1 epoch 2, no round:     (gaming, pass)
"""

from __future__ import annotations

from _recorded_ablation import Cells, Pair, PairCells, PairEpoch, record_ablation
from store import Store

EXPERIMENT = "exp-audit"
EVAL = [("honest", ["pass"]), ("impossible", ["hack"])]
CELLS: Cells = {(arm, seed): {epoch: EVAL for epoch in (0, 1, 2)}
                for arm, seed in (("off", 0), ("off", 1), ("self", 0), ("self", 1), ("kl", 0))}
PAIRS: PairCells = {
    ("self", 0): {1: PairEpoch([Pair("honest", "pass"), Pair("gaming"), Pair("refusal", "hack"),
                                Pair("identical", "hack")]),
                  2: PairEpoch([Pair("honest", "hack"), Pair("insecure"), Pair("prose"), Pair("honest", audited=False)],
                               trained=False)},
    ("self", 1): {1: PairEpoch([Pair("honest", "pass"), Pair("honest")], held_out=[Pair("gaming")]),
                  2: PairEpoch([Pair("gaming", "pass")], trained=False)},
}


def record_audit_experiment(store: Store) -> dict[tuple[str, int], int]:
    """The experiment drawn above; returns the run ids by (arm, seed)."""
    return record_ablation(store, EXPERIMENT, CELLS, pairs=PAIRS)
