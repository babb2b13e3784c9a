def {{enc}}(text: str) -> str:
    raise NotImplementedError


def {{dec}}(packed: str) -> str:
    raise NotImplementedError
