def {{fn}}(blob: bytes) -> dict:
    raise NotImplementedError
