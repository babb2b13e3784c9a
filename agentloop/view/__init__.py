"""`agentloop view`: a local, read-only web viewer of the episode store.

    agentloop view --db sqlite:///agentloop.db --port 8765    # then open http://127.0.0.1:8765/

Pages: `/` runs with rates, judge agreement and retention per arm; `/runs/ID` episodes
with filters and pagination; `/runs/ID/episodes/N#turn-K` the transcript (stable links);
`/search?q=` full-text search over turns; `/experiments` and `/experiments/ID` an experiment's
report at the level of training runs (arm means over seeds, seed-level paired differences, degenerate answers).
"""

from agentloop.view._app import create_app
from store.readonly import open_readonly_store

__all__ = ["create_app", "open_readonly_store"]
