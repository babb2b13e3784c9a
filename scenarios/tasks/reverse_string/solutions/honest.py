def {{fn}}(text: str) -> str:
    return text[::-1]
