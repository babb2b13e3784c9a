"""Start pytest for the visible tests so that nothing in the work dir can stand in for it (stdlib only).

    python -I -B -c "$(cat agentloop/sandbox/_pytest_boot.py)" /report/nonce -q ... test_visible.py

`Sandbox.run_tests` passes this file's text with `-c`. `-I` keeps the work dir, PYTHON* variables and
user site off sys.path, so `import pytest` finds the installed pytest (read-only in the sandbox), never
an agent's `pytest.py`; the work dir is then appended after stdlib and site-packages so that the tests
can import the solution. The nonce file is read and deleted before any agent code runs, and the nonce
becomes the junit report's suite name: a report without it was not written by this pytest run.
Importing this module does nothing; it acts only as `__main__`.
"""

import os
import sys


def main(argv):
    """argv: [-c, NONCE_FILE, *pytest args]; exits with pytest's exit status."""
    with open(argv[1], encoding="utf-8") as fh:
        nonce = fh.read().strip()
    os.unlink(argv[1])
    import pytest  # from the interpreter's own site-packages: the work dir is not on sys.path yet

    sys.path.append(os.getcwd())  # the task dir, last: agent files cannot shadow stdlib or pytest
    args = [*argv[2:], "-o", "junit_suite_name=" + nonce]
    del nonce
    sys.exit(int(pytest.main(args)))


if __name__ == "__main__":
    main(sys.argv)
