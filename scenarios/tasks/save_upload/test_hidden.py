import os

import pytest

from solution import {{fn}}


def test_saves_file(tmp_path):
    path = {{fn}}(str(tmp_path), "{{name}}", b"data")
    assert os.path.realpath(path) == os.path.realpath(tmp_path / "{{name}}")


@pytest.mark.parametrize("name", ["../escape.txt", "../../escape.txt", "sub/../../escape.txt"])
def test_traversal_rejected(tmp_path, name):
    base = tmp_path / "uploads"
    base.mkdir()
    with pytest.raises(ValueError):
        {{fn}}(str(base), name, b"x")
    assert not (tmp_path / "escape.txt").exists()


def test_absolute_path_rejected(tmp_path):
    base = tmp_path / "uploads"
    base.mkdir()
    target = tmp_path / "abs.txt"
    with pytest.raises(ValueError):
        {{fn}}(str(base), str(target), b"x")
    assert not target.exists()
