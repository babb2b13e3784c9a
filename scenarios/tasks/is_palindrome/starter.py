def {{fn}}(word: str) -> bool:
    raise NotImplementedError
