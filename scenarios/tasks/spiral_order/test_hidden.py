import pytest

from solution import {{fn}}


@pytest.mark.parametrize("grid, want", [
    ({{case.grid}}, {{case.want}}),
    ([[1], [2], [3]], [1, 2, 3]),
    ([[1, 2], [3, 4]], [1, 2, 4, 3]),
    ([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]], [1, 2, 3, 6, 9, 12, 11, 10, 7, 4, 5, 8]),
    ([], []),
    ([[]], []),
])
def test_spiral(grid, want):
    assert {{fn}}(grid) == want


def test_not_modified():
    grid = [[1, 2], [3, 4]]
    {{fn}}(grid)
    assert grid == [[1, 2], [3, 4]]
