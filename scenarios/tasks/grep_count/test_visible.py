from solution import {{fn}}


def test_counts(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("ok\n{{word}} one\nfine\n{{word}} two\n")
    assert {{fn}}("{{word}}", str(log)) == 2
