def {{fn}}(text: str) -> list:
    raise NotImplementedError
