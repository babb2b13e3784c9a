def {{fn}}(title: str, max_len: int = 40) -> str:
    raise NotImplementedError
