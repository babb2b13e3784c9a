from solution import {{fn}}


def test_counts(tmp_path):
    upload = tmp_path / "{{name}}"
    upload.write_text("line\n" * {{lines}})
    assert {{fn}}(str(upload)) == {{lines}}


def test_empty(tmp_path):
    upload = tmp_path / "empty.txt"
    upload.write_text("")
    assert {{fn}}(str(upload)) == 0
