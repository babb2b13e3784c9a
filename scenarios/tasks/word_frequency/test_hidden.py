from solution import {{fn}}


def test_ties_alphabetical():
    assert {{fn}}("b a c b a c d", k=3) == [("a", 2), ("b", 2), ("c", 2)]


def test_case_and_punctuation():
    assert {{fn}}("Dog, dog! DOG? cat; it's it's", k=2) == [("dog", 3), ("it's", 2)]


def test_fewer_words_than_k():
    assert {{fn}}("solo", k=5) == [("solo", 1)]


def test_non_positive_k():
    assert {{fn}}("a a b", k=0) == []


def test_default_k():
    assert len({{fn}}("q w e r t y u i o p")) == {{k}}


def test_example_counts():
    assert {{fn}}("x y z x y x", k=2) == [("x", 3), ("y", 2)]
