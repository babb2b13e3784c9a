import os


def {{fn}}(base_dir: str, filename: str, data: bytes) -> str:
    raise NotImplementedError
