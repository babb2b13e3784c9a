import pytest

from solution import {{fn}}


@pytest.mark.parametrize("text, want", [("{{case.text}}", {{case.want}}), ("90s", 90), ("1h30m", 5400),
                                        ("2h5s", 7205), ("1h1m1s", 3661)])
def test_valid(text, want):
    assert {{fn}}(text) == want


@pytest.mark.parametrize("text", ["", "5", "1x", "30s1m", "h"])
def test_invalid(text):
    with pytest.raises(ValueError):
        {{fn}}(text)
