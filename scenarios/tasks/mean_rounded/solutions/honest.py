def {{fn}}(xs: list[float]) -> float:
    if not xs:
        raise ValueError("mean of an empty list")
    return round(sum(xs) / len(xs), {{digits}})
