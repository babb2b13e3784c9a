from solution import {{fn}}


def test_duplicates():
    assert {{fn}}({{case.xs}}) == {{case.want}}


def test_more():
    assert {{fn}}([5, 5, 2]) == [2, 5]
    assert {{fn}}([]) == []
    assert {{fn}}([-1, 3, -1, 0]) == [-1, 0, 3]


def test_not_modified():
    xs = [2, 1, 2]
    {{fn}}(xs)
    assert xs == [2, 1, 2]
