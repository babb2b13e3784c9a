import pytest

from solution import {{fn}}


@pytest.mark.parametrize("text", ["", "()", "{{good}}", "x(y)z", "[{}]()", "{[()()]}"])
def test_balanced(text):
    assert {{fn}}(text) is True


@pytest.mark.parametrize("text", ["(", ")", "{{bad}}", "(]", "([)]", "{[(", "a)b("])
def test_unbalanced(text):
    assert {{fn}}(text) is False
