from solution import {{fn}}


def check(given, want):
    result = {{fn}}(given)
    assert type(result) is list and all(type(item) is list for item in result)
    assert [list(item) for item in result] == want


def test_examples():
    check({{case.given}}, {{case.want}})
    check([[1, 4], [2, 3]], [[1, 4]])
    check([[6, 8], [1, 9], [2, 4], [4, 7]], [[1, 9]])
    check([[1, 2], [3, 4]], [[1, 2], [3, 4]])


def test_empty():
    check([], [])


def test_input_not_modified():
    given = [[3, 5], [1, 4]]
    {{fn}}(given)
    assert given == [[3, 5], [1, 4]]
