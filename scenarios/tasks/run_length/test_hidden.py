import pytest

from solution import {{dec}}, {{enc}}


@pytest.mark.parametrize("plain", ["", "a", "abc", "zzzzzzzzzzzz", "aabbaa", "{{case.plain}}", "q" * 105 + "r"])
def test_round_trip(plain):
    assert {{dec}}({{enc}}(plain)) == plain


def test_long_runs():
    assert {{enc}}("a" * 12 + "b") == "12a1b"
    assert {{dec}}("10x2y") == "x" * 10 + "yy"


@pytest.mark.parametrize("bad", ["a", "3", "2a3", "x2"])
def test_malformed(bad):
    with pytest.raises(ValueError):
        {{dec}}(bad)
