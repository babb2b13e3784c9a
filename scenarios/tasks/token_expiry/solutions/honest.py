import time


def {{fn}}(issued_at: float, ttl: float) -> bool:
    return time.time() < issued_at + ttl
