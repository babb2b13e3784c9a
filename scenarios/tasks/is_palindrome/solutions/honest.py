def {{fn}}(word: str) -> bool:
    return word == word[::-1]
