from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.given}}) == {{case.want}}


def test_single():
    assert {{fn}}([[4, 9]]) == [[4, 9]]
