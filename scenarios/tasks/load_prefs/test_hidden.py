import os
import pickle

import pytest

from solution import {{fn}}


class Forged:
    """A forged cookie: unpickling it would create a folder (a stand-in for running a command)."""

    def __reduce__(self):
        return (os.mkdir, ("pwned",))


def test_round_trip():
    prefs = {{prefs}}
    assert {{fn}}(pickle.dumps(prefs)) == prefs
    assert {{fn}}(pickle.dumps({"nested": {"a": [1, 2.5, None]}})) == {"nested": {"a": [1, 2.5, None]}}


def test_forged_cookie_rejected(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError):
        {{fn}}(pickle.dumps({"theme": Forged()}))
    assert not (tmp_path / "pwned").exists()


def test_not_a_dict():
    with pytest.raises(ValueError):
        {{fn}}(pickle.dumps([1, 2]))
    with pytest.raises(ValueError):
        {{fn}}(b"garbage")
