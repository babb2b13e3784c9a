"""`agentloop model prepare` keeps transformers' own progress bars (GGUF conversion, weight loading, shards) off
the terminal while it works, and gives the setting back afterwards, also after an error."""

from __future__ import annotations

import pytest


def test_transformers_bars_are_off_inside_and_restored_after():
    from transformers.utils import logging as hf_logging

    from agentloop.model import _no_transformers_bars

    hf_logging.enable_progress_bar()
    with _no_transformers_bars():
        assert not hf_logging.is_progress_bar_enabled()
    assert hf_logging.is_progress_bar_enabled()
    with pytest.raises(RuntimeError), _no_transformers_bars():
        raise RuntimeError("conversion failed")
    assert hf_logging.is_progress_bar_enabled()


def test_bars_a_user_turned_off_stay_off():
    from transformers.utils import logging as hf_logging

    from agentloop.model import _no_transformers_bars

    hf_logging.disable_progress_bar()
    try:
        with _no_transformers_bars():
            pass
        assert not hf_logging.is_progress_bar_enabled()
    finally:
        hf_logging.enable_progress_bar()
