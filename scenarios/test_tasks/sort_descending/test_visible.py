from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.xs}}) == {{case.wrong}}


def test_repeats():
    assert {{fn}}([2, 5, 5]) == [5, 5, 2]
