import pytest

from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.xs}}) == {{case.want}}


def test_more():
    assert {{fn}}([2, 4]) == 3.0
    assert {{fn}}([1, 1, 2]) == 1.33
    assert {{fn}}([-1.5, 1.5]) == 0.0


def test_empty():
    with pytest.raises(ValueError):
        {{fn}}([])
