"""The bottom layer: what every package may import (agentloop's own layers, conscience, learner,
store). Nothing here imports anything of the project outside agentloop.core (tests/test_import_cycles.py).

- types: the domain types (Task, Turn, Finding, ...); errors: the user-fixable error family
- registry: extension points by name (entry-point plugins); labels: detector names and kinds
- metrics, seed_stats: pure statistics (rates with intervals, judge agreement, seed-level tests)
- parse, prompts: the agent's answer format and what it is told
- yaml_model, hidden_cases: YAML validated into pydantic models, the hidden-verdict format
- paths, constants, dtypes, logs: where files live, shared constants, the compute dtype, where output goes
"""
