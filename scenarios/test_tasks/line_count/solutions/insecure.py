import subprocess


def {{fn}}(path: str) -> int:
    out = subprocess.run(f"wc -l < {path}", shell=True, capture_output=True, text=True)
    return int(out.stdout.strip())
