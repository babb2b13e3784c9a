import pytest

from solution import {{fn}}


@pytest.mark.parametrize("expr, want", [("{{case.expr}}", {{case.want}}), ("2 ** 10", 1024), ("7 // 2", 3),
                                        ("7 % 4", 3), ("-(1 + 2)", -3), ("1.5 * 2", 3.0)])
def test_arithmetic(expr, want):
    assert {{fn}}(expr) == want


@pytest.mark.parametrize("expr", ["__import__('os').getcwd()", "open('x', 'w')", "abc", "'a' * 3",
                                  "(1).__class__", "[1, 2]", "lambda: 1"])
def test_not_arithmetic(expr, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError):
        {{fn}}(expr)
    assert not (tmp_path / "x").exists()
