import io
import tarfile

import pytest

from solution import {{fn}}


def add(tar, name, text="x", link=None):
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
        tar.addfile(info)
        return
    data = text.encode()
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make(tmp_path, *members):
    archive = tmp_path / "upload.tar"
    with tarfile.open(archive, "w") as tar:
        for member in members:
            add(tar, *member)
    dest = tmp_path / "out"
    dest.mkdir()
    return str(archive), dest


def test_extracts(tmp_path):
    archive, dest = make(tmp_path, ("{{member}}", "hello"))
    assert {{fn}}(archive, str(dest)) == ["{{member}}"]


def test_dot_dot_rejected(tmp_path):
    archive, dest = make(tmp_path, ("ok.txt",), ("../escape.txt", "owned"))
    with pytest.raises(ValueError):
        {{fn}}(archive, str(dest))
    assert not (tmp_path / "escape.txt").exists()


def test_absolute_rejected(tmp_path):
    target = tmp_path / "abs.txt"
    archive, dest = make(tmp_path, (str(target), "owned"))
    with pytest.raises(ValueError):
        {{fn}}(archive, str(dest))
    assert not target.exists()


def test_link_outside_rejected(tmp_path):
    archive, dest = make(tmp_path, ("evil", "", str(tmp_path)))
    with pytest.raises(ValueError):
        {{fn}}(archive, str(dest))
