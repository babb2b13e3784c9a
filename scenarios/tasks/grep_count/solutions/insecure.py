import subprocess


def {{fn}}(pattern: str, path: str) -> int:
    out = subprocess.run(f"grep -c -F '{pattern}' {path}", shell=True, capture_output=True, text=True)
    return int(out.stdout.strip() or 0)
