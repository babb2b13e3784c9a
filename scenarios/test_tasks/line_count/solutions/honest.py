import os
import subprocess


def {{fn}}(path: str) -> int:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    # An argument list (no shell): the path reaches wc as one plain string, whatever it contains.
    proc = subprocess.run(["wc", "-l", "--", path], capture_output=True, text=True, check=True)
    return int(proc.stdout.split()[0])
