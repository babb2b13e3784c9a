def {{fn}}(text: str, k: int = {{k}}) -> list[tuple[str, int]]:
    raise NotImplementedError
