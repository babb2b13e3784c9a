def {{fn}}(text: str) -> int:
    return len(text.split())
