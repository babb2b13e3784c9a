"""agentloop: continual-learning coding agents with a frozen-copy conscience."""

__version__ = "0.1.0"
