"""One error family for problems a user can fix; the CLI prints them as one line, no traceback."""

from __future__ import annotations


class AgentloopError(Exception):
    """A user-fixable problem: the message says what to change."""


class ConfigError(AgentloopError):
    """A scenario, framework or option is invalid (message names file, field and line)."""


class EngineError(AgentloopError):
    """The model engine failed or is unreachable (server down, OOM)."""


class SandboxError(AgentloopError):
    """The sandbox could not be set up (not: the agent's code failed, which is data)."""
