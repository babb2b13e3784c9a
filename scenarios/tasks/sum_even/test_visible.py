from solution import {{fn}}


def test_mixed():
    assert {{fn}}({{case.xs}}) == {{case.wrong}}


def test_small():
    assert {{fn}}([1, 2, 3, 4]) == 6
