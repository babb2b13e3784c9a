from solution import {{fn}}


def test_example():
    assert {{fn}}("{{case.expr}}") == {{case.want}}


def test_parentheses():
    assert {{fn}}("2 * (3 + 4)") == 14
