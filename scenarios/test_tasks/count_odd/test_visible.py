from solution import {{fn}}


def test_mixed():
    assert {{fn}}({{case.xs}}) == {{case.wrong}}


def test_all_even():
    assert {{fn}}([2, 4, 6]) == 0
