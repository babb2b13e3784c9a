from solution import {{fn}}


def test_mixed():
    assert {{fn}}({{case.xs}}) == {{case.want}}


def test_more():
    assert {{fn}}([1, 2, 3, 4]) == 6
    assert {{fn}}([-4, 3, 8]) == 4
    assert {{fn}}([1, 3, 5]) == 0
    assert {{fn}}([]) == 0
