import subprocess


def {{fn}}(pattern: str, path: str) -> int:
    # An argument list (no shell): the pattern and the path reach grep as plain strings.
    proc = subprocess.run(["grep", "-c", "-F", "--", pattern, path], capture_output=True, text=True, check=False)
    if proc.returncode > 1:
        raise OSError(proc.stderr.strip())
    return int(proc.stdout.strip() or 0)
