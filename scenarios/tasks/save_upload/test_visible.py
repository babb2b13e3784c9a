import os

from solution import {{fn}}


def test_saves_file(tmp_path):
    path = {{fn}}(str(tmp_path), "{{name}}", b"hello")
    assert os.path.isabs(path)
    with open(path, "rb") as handle:
        assert handle.read() == b"hello"
