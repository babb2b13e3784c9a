"""Constants more than one module needs, in a leaf module (it imports nothing of the project).

    from agentloop.core.constants import EVAL_SEED_BASE
"""

from __future__ import annotations

__all__ = ["EVAL_SEED_BASE"]

# An episode seed of the train split is below this bound; the eval split uses seeds at and above it,
# so a train instance can never be an eval instance (see agentloop.tasks.select_tasks).
EVAL_SEED_BASE = 1_000_000
