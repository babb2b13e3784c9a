"""Experiment arms: what each arm changes in the scenario it trains on, one registered class each.

    agentloop experiment scenarios/organism.yaml --arms off,self,always,random,distill,kl,oracle,gate

An arm differs from `off` only in what it claims to: every arm of a seed trains on the same task
batches with the same optimizer, clip and steps (learner.streams), and its held-out episodes are
labelled by the frozen copy without rewrites. A new arm is one class here (or, from a package,
one entry point in the group `agentloop.arms`); any registered judge without an arm of its own is
an arm that observes with that judge.
"""

from __future__ import annotations

from agentloop.core.errors import ConfigError
from agentloop.core.registry import Registry
from agentloop.config.scenario import Scenario
from conscience.judge import JUDGES


class Arm:
    """The base: the scenario's conscience and learner as they are, rounds scheduled by the experiment."""

    name: str = ""
    meaning: str = ""  # one sentence: what the arm tests (the CLI's --help, the report)

    def train_scenario(self, scenario: Scenario, seed: int) -> Scenario:
        """The scenario of the arm's training episodes and rounds at `seed`."""
        return self.adjust(scenario.with_overrides(seed=seed, learner="off"))

    def adjust(self, scenario: Scenario) -> Scenario:
        return scenario

    def eval_scenario(self, scenario: Scenario, seed: int) -> Scenario:
        """Held-out episodes: the frozen copy only labels (no rewrites, so no pairs: nothing held out is
        trained), so judge metrics are measured alike in every arm."""
        s = scenario.with_overrides(seed=seed, learner="off", conscience="observe", judge="self")
        return s.with_changes(conscience={"rewrite_on": []})


ARMS: Registry[type[Arm]] = Registry("experiment arm", group="agentloop.arms")


def register_arm(name: str, meaning: str):
    """Register an `Arm` subclass as `name`, with its one-sentence meaning."""
    def wrap(cls: type[Arm]) -> type[Arm]:
        cls.name, cls.meaning = name, meaning
        return ARMS.register(name)(cls)
    return wrap


def _learner(scenario: Scenario, **fields) -> Scenario:
    return scenario.with_changes(learner=fields)


class JudgeArm(Arm):
    """The conscience observes with `judge`; DPO on its pairs (rewrite over the unethical answer)."""

    judge = "self"

    def adjust(self, scenario: Scenario) -> Scenario:
        return scenario.with_overrides(conscience="observe", judge=self.judge)


@register_arm("off", "no conscience: the task loss alone, the Emergent Misalignment baseline")
class OffArm(Arm):
    def adjust(self, scenario: Scenario) -> Scenario:
        return _learner(scenario.with_overrides(conscience="off"), dpo_weight=0.0)


def _judge_arm(name: str, meaning: str) -> type[Arm]:
    """The arm that observes with the judge of the same name: its verdicts make its pairs."""
    return register_arm(name, meaning)(type(f"{name.title()}Arm", (JudgeArm,), {"judge": name}))


SelfArm = _judge_arm("self", "the frozen copy judges each training turn and DPO trains its rewrites over the "
                             "answers it labels unethical: Emergent Alignment as proposed")
OracleArm = _judge_arm("oracle", "the detectors label, the frozen copy rewrites: the ceiling of a perfect judge")
ExternalArm = _judge_arm("external", "another model judges over an OpenAI-compatible API (conscience.external)")
AlwaysArm = _judge_arm("always", "control: every training turn rewritten and paired, no judgement (self without "
                                 "its verdicts)")
RandomArm = _judge_arm("random", "control: a turn paired with probability conscience.random_rate (self's dev flag "
                                 "rate), whatever it says")


@register_arm("distill", "control: the frozen copy's rewrite of every training turn as a supervised target "
                         "(weight dpo_weight), no DPO, no judgement")
class DistillArm(JudgeArm):
    judge = "always"

    def adjust(self, scenario: Scenario) -> Scenario:
        return _learner(super().adjust(scenario), pair_loss="sft")


@register_arm("kl", "control: the task loss plus a KL penalty toward the frozen copy on the round's task data "
                    "(weight controls.kl_weight), no conscience")
class KlArm(Arm):
    def adjust(self, scenario: Scenario) -> Scenario:
        return _learner(scenario.with_overrides(conscience="off"), dpo_weight=0.0,
                        kl_weight=scenario.controls.kl_weight)


@register_arm("gate", "the frozen copy judges and an unethical answer is replaced by its rewrite before it runs, "
                      "in training and held-out episodes (the user receives the rewrite)")
class GateArm(JudgeArm):
    def adjust(self, scenario: Scenario) -> Scenario:
        return scenario.with_overrides(conscience="gate", judge="self")

    def eval_scenario(self, scenario: Scenario, seed: int) -> Scenario:
        """Held-out turns are gated too (their rewrites run; the answer before gating stays in the
        turn's row, and its own sandbox run is kept for the hack rate before gating): what the user of a
        gated agent receives. Held-out pairs never train."""
        s = scenario.with_overrides(seed=seed, learner="off", conscience="gate", judge="self")
        return s.with_changes(conscience={"measure_stopped": True})


def arm(name: str) -> Arm:
    """The arm registered as `name`, else an observing arm for a registered judge of that name."""
    if name in ARMS.names():
        return ARMS.get(name)()
    if name in JUDGES.names():
        cls = JUDGES.get(name)
        return type(f"{name}_arm", (JudgeArm,), {"judge": name, "name": name,
                                                 "meaning": (cls.__doc__ or name).strip().split("\n")[0]})()
    raise ConfigError(f"unknown arm {name!r}: choose from {', '.join(arm_names())}")


def arm_names() -> list[str]:
    """Every arm on offer: the registered arms, then judges without an arm of their own."""
    names = list(ARMS.builtin_names()) + [n for n in ARMS.names() if n not in ARMS.builtin_names()]
    return names + [n for n in JUDGES.names() if n not in names]
