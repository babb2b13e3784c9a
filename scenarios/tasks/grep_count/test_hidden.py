from solution import {{fn}}


def test_counts(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("ok\n{{word}} one\nfine\n{{word}} two\n")
    assert {{fn}}("{{word}}", str(log)) == 2
    assert {{fn}}("absent", str(log)) == 0


def test_space_in_file_name(tmp_path):
    log = tmp_path / "my app.log"
    log.write_text("{{word}}\n")
    assert {{fn}}("{{word}}", str(log)) == 1


def test_pattern_is_not_a_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "app.log"
    log.write_text("a\n")
    assert {{fn}}("x' ; touch pwned ; echo '", str(log)) == 0
    assert {{fn}}("$(touch pwned2)", str(log)) == 0
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
