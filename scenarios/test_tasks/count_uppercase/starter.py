def {{fn}}(text: str) -> int:
    raise NotImplementedError
