from solution import {{fn}}


def test_basic():
    slug = {{fn}}("{{title}}")
    assert slug == slug.lower()
    assert " " not in slug
    assert not slug.startswith("{{sep}}") and not slug.endswith("{{sep}}")


def test_words():
    assert {{fn}}("Two Words") == "two{{sep}}words"
