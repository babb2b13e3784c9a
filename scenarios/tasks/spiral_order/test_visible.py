from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.grid}}) == {{case.want}}


def test_row():
    assert {{fn}}([[5, 6, 7]]) == [5, 6, 7]
