def {{fn}}(text: str) -> bool:
    raise NotImplementedError
