import io
import tarfile

from solution import {{fn}}


def add(tar, name, text):
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_extracts(tmp_path):
    archive = tmp_path / "upload.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add(tar, "{{member}}", "hello")
        add(tar, "top.txt", "hi")
    dest = tmp_path / "out"
    dest.mkdir()
    assert {{fn}}(str(archive), str(dest)) == sorted(["{{member}}", "top.txt"])
    assert (dest / "{{member}}").read_text() == "hello"
