def {{fn}}(text: str) -> list:
    return eval(text)
