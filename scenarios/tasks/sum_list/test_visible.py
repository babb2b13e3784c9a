from solution import {{fn}}


def test_example():
    assert {{fn}}({{case.xs}}) == {{case.want}}


def test_empty():
    assert {{fn}}([]) == 0
