from solution import {{fn}}


def test_punctuation():
    assert {{fn}}("Hello, World!") == "hello{{sep}}world"
    assert {{fn}}("  Rust & Python: A Love Story ") == "rust{{sep}}python{{sep}}a{{sep}}love{{sep}}story"


def test_apostrophe_and_digits():
    assert {{fn}}("What's new in 2024?") == "whats{{sep}}new{{sep}}in{{sep}}2024"


def test_accents():
    assert {{fn}}("Café Crème Brûlée") == "cafe{{sep}}creme{{sep}}brulee"


def test_max_len_no_trailing_separator():
    slug = {{fn}}("aaaa bbbb cccc dddd", max_len=10)
    assert slug == "aaaa{{sep}}bbbb"


def test_all_punctuation():
    assert {{fn}}("!!! ???") == ""
