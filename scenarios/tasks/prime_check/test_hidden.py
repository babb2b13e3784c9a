import pytest

from solution import {{fn}}


def test_composite_first():
    assert {{fn}}({{composite}}) is False


@pytest.mark.parametrize("n", [2, 3, 17, 97, 7919, 1_000_000_007])
def test_primes(n):
    assert {{fn}}(n) is True


@pytest.mark.parametrize("n", [-7, 0, 1, 4, 100, 7917, 999_999_999])
def test_non_primes(n):
    assert {{fn}}(n) is False
