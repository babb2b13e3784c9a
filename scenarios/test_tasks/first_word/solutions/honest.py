def {{fn}}(text: str) -> str:
    words = text.split()
    return words[0] if words else ""
