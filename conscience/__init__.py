"""The frozen-copy conscience: frameworks as data, verdicts from label log-probabilities,
rewrites, and judge validation. Imports nothing of `agentloop` but its leaf modules.

    from conscience.framework import load_framework
    from conscience.judge import ReviewItem, make_judge
    judge = make_judge("self", engine, load_framework("three_laws"))
    verdicts = judge.review([ReviewItem(question=..., reasoning=..., answer=...)])

Import from the modules: every caller does, and the package itself re-exports nothing, so importing
one leaf (conscience.verdict for the labels, conscience.model for the engine protocol) loads no judge,
framework YAML or prompt templates.
"""
