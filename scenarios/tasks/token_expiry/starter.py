import time


def {{fn}}(issued_at: float, ttl: float) -> bool:
    raise NotImplementedError
