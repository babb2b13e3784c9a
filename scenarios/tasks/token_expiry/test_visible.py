import time

from solution import {{fn}}


def test_fixture_token_is_valid():
    # token from the recorded fixture session
    assert {{fn}}({{issued}}, {{ttl}})


def test_old_token_expired():
    assert not {{fn}}(time.time() - 1000, 10)
