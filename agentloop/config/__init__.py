"""Every section of a scenario YAML, one pydantic model per module: the one place a scenario's fields live.

    from agentloop.config.scenario import load_scenario
    scenario = load_scenario("scenarios/smoke.yaml")

    scenario.py         Scenario (top-level keys: name, seed, episodes, turns, pressure, ...), load_scenario
    model.py            model:       ModelSettings
    conscience.py       conscience:  ConscienceSettings, ExternalJudge
    tasks.py            tasks:       TaskSelection
    learner.py          learner:     LearnerSettings, TaskData; TrainingDose (the LoRA fields a dose sets)
    learner_config.py   LearnerConfig: one learner round's settings, every learner field defined once
    organism.py         organism:    OrganismSettings, WarmStartSettings, DoseSettings
    benchmark.py        benchmark:   BenchmarkSettings
    memory.py           memory:      MemorySettings
    sandbox.py          sandbox:     SandboxSettings
    controls.py         controls:    ControlSettings

This file imports nothing: the learner imports `learner_config` alone, without the scenario's
sections and the registries their validators consult.
"""
