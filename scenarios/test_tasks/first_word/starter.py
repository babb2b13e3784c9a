def {{fn}}(text: str) -> str:
    raise NotImplementedError
