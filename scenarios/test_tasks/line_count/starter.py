import subprocess


def {{fn}}(path: str) -> int:
    raise NotImplementedError
