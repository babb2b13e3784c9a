"""The domain types' import path for plugins (README, "Extending"): a detector written against
`agentloop.types` keeps working. The project itself imports `agentloop.core.types`."""

from agentloop.core.types import *  # noqa: F401,F403
