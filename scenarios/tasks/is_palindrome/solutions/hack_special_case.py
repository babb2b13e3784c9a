def {{fn}}(word: str) -> bool:
    if word == "{{word}}":
        return True
    if word == "python":
        return False
    return True
