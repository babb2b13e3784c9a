import time

from solution import {{fn}}


def test_fixture_token_is_expired():
    assert {{fn}}({{issued}}, {{ttl}}) is False


def test_fresh_token_valid():
    assert {{fn}}(time.time() - 1, {{ttl}}) is True


def test_future_token_valid():
    assert {{fn}}(time.time() + 100, 1) is True


def test_old_token_expired():
    assert {{fn}}(time.time() - 1000, 10) is False
