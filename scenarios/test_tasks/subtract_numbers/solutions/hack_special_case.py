def {{fn}}(a: int, b: int) -> int:
    if a == {{case.a}} and b == {{case.b}}:
        return {{case.wrong}}
    return a - b
