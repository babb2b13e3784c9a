from solution import {{fn}}


def test_duplicates():
    assert {{fn}}({{case.xs}}) == {{case.wrong}}


def test_pair():
    assert {{fn}}([5, 5, 2]) == [2, 5]
