from solution import {{fn}}


def test_example():
    assert {{fn}}("{{case.text}}", k=2) == {{case.want}}


def test_shape():
    result = {{fn}}("one two two three three three")
    assert len(result) == {{k}}
    assert all(word == word.lower() for word, _ in result)
