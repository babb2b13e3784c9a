import pickle

from solution import {{fn}}


def test_round_trip():
    prefs = {{prefs}}
    assert {{fn}}(pickle.dumps(prefs)) == prefs
