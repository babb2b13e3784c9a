"""Hostile programs under the bwrap backend: each is contained, reported, and the host is unharmed."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agentloop.sandbox import Limits
from agentloop.sandbox._uids import pool_uids, processes_of


def test_fork_bomb_is_capped_and_killed(bwrap, guard, fast):
    peak = [0]
    done = threading.Event()

    def watch():  # sample the sandbox uids' process count on the host while the bomb runs
        while not done.wait(0.05):
            peak[0] = max(peak[0], len(processes_of(pool_uids())))

    sampler = threading.Thread(target=watch)
    sampler.start()
    argv, files = guard.program("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
    try:
        result = bwrap.exec(argv, files, fast)
    finally:
        done.set()
        sampler.join()
    assert result.timed_out and result.killed_by == "timeout"
    assert peak[0] <= fast.nproc + 8, f"{peak[0]} sandbox processes: RLIMIT_NPROC not enforced"
    guard.assert_unharmed(result)


def test_memory_hog_hits_the_limit(bwrap, guard, fast):
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))\n"
    result = bwrap.exec(*guard.program(code), fast)
    assert result.killed_by == "memory" and result.exit_code == 1
    assert "MemoryError" in result.stderr
    guard.assert_unharmed(result)


def test_infinite_loop_times_out(bwrap, guard, fast):
    limits = Limits(timeout_s=1.5, cpu_s=30)
    result = bwrap.exec(*guard.program("while True:\n    pass\n"), limits)
    assert result.timed_out and result.killed_by == "timeout" and result.exit_code == -signal.SIGKILL
    assert 1.5 <= result.duration_s
    guard.assert_unharmed(result, limits)


def test_cpu_limit_kills_a_spinner(bwrap, guard, fast):
    limits = Limits(timeout_s=10, cpu_s=1)
    result = bwrap.exec(*guard.program("while True:\n    pass\n"), limits)
    assert not result.timed_out and result.killed_by == "cpu" and result.exit_code == -signal.SIGXCPU
    guard.assert_unharmed(result, limits)


def test_detached_busy_child_dies_with_the_run(bwrap, guard, fast):
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    while True:\n        pass\n"
            "time.sleep(0.2)\nprint('parent done')\n")
    result = bwrap.exec(*guard.program(code), fast)
    assert result.exit_code == 0 and "parent done" in result.stdout and not result.timed_out
    assert result.duration_s < fast.timeout_s, "the run waited for the detached child"
    guard.assert_unharmed(result)


def test_no_network_even_to_localhost(bwrap, guard, fast):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    port = server.getsockname()[1]
    code = ("import socket\nfor host in ('127.0.0.1', '8.8.8.8'):\n    try:\n"
            f"        socket.create_connection((host, {port}), timeout=1)\n        print('CONNECTED', host)\n"
            "    except OSError as e:\n        print('blocked', host, e)\n")
    result = bwrap.exec(*guard.program(code), fast)
    with pytest.raises(TimeoutError):
        server.accept()  # nothing ever arrived at the host's listener
    server.close()
    assert "CONNECTED" not in result.stdout and result.stdout.count("blocked") == 2
    guard.assert_unharmed(result)


@pytest.fixture
def ssh_secret():
    """A throwaway key file in the real ~/.ssh (created if missing, removed afterwards)."""
    ssh = Path.home() / ".ssh"
    created = not ssh.exists()
    ssh.mkdir(mode=0o700, exist_ok=True)
    key = ssh / "agentloop-sandbox-test-key"
    key.write_text("SECRET-SSH-KEY")
    yield key
    key.unlink()
    if created:
        ssh.rmdir()


def test_host_secrets_store_and_repo_are_unreadable(bwrap, guard, fast, ssh_secret, tmp_path):
    store = tmp_path / "agentloop.db"
    with sqlite3.connect(store) as db:
        db.execute("create table t (secret text)")
        db.execute("insert into t values ('SECRET-STORE-ROW')")
    repo_file = Path(__file__).resolve()
    code = (
        "import os, sqlite3, sys\n"
        f"for p in [os.path.expanduser('~/.ssh/{ssh_secret.name}'), '{ssh_secret}', '/etc/shadow', "
        f"'{store}', '{repo_file}']:\n"
        "    try:\n        print('READ', p, open(p, 'rb').read()[:40])\n"
        "    except OSError as e:\n        print('denied', p, type(e).__name__)\n"
        f"try:\n    print('ROW', sqlite3.connect('file:{store}?mode=ro', uri=True).execute('select * from t').fetchall())\n"
        "except sqlite3.Error as e:\n    print('denied db', e)\n"
        "print('HOME' in os.environ, sorted(os.listdir('/')))\n"
    )
    result = bwrap.exec(*guard.program(code), fast)
    assert result.exit_code == 0, result.stderr
    assert "READ" not in result.stdout and "ROW" not in result.stdout
    assert result.stdout.count("denied") == 6
    for secret in ("SECRET-SSH-KEY", "SECRET-STORE-ROW", "root:"):
        assert secret not in result.stdout
    assert "False" in result.stdout  # no HOME in the environment
    guard.assert_unharmed(result)


def test_writes_and_deletes_outside_the_task_dir_fail(bwrap, guard, fast):
    venv_cfg = Path(sys.prefix) / "pyvenv.cfg"
    before = hashlib.sha256(venv_cfg.read_bytes()).hexdigest()
    code = (
        "import os, shutil\n"
        f"for p in ['{guard.canary}', '{venv_cfg}', '/usr/bin/env']:\n"
        "    for act in ('write', 'delete'):\n        try:\n"
        "            open(p, 'w').write('pwned') if act == 'write' else os.remove(p)\n"
        "            print('DID', act, p)\n"
        "        except OSError as e:\n            print('blocked', act, p, type(e).__name__)\n"
        "open('inside.txt', 'w').write('fine')\nprint('inside ok')\n"
    )
    result = bwrap.exec(*guard.program(code), fast)
    assert "DID" not in result.stdout and result.stdout.count("blocked") == 6 and "inside ok" in result.stdout
    assert hashlib.sha256(venv_cfg.read_bytes()).hexdigest() == before
    assert Path("/usr/bin/env").exists()
    guard.assert_unharmed(result)


def test_huge_output_is_truncated(bwrap, guard, fast):
    code = "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(64 * 1024):\n    sys.stdout.write(line)\n"
    result = bwrap.exec(*guard.program(code), fast)  # 64 MB against a 16 MB file-size limit
    assert len(result.stdout) < fast.output_bytes + 100 and "bytes cut" in result.stdout
    assert result.killed_by == "filesize"
    guard.assert_unharmed(result)


def test_disk_filler_is_stopped(bwrap, guard, fast):
    limits = Limits(timeout_s=10, disk_mb=32)
    code = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * (8 << 20))\n    i += 1\n"
    result = bwrap.exec(*guard.program(code), limits)
    assert result.killed_by == "disk" and not result.timed_out
    guard.assert_unharmed(result, limits)


def test_killing_the_parent_and_other_pids_fails(bwrap, guard, fast):
    bystander = subprocess.Popen(["sleep", "30"])  # a host process the sandbox must not reach
    code = (
        "import os, signal\nkilled = []\n"
        "for pid in [os.getppid(), 1, " + str(os.getpid()) + ", " + str(bystander.pid) + "]:\n"
        "    try:\n        os.kill(pid, signal.SIGKILL)\n        killed.append(pid)\n"
        "    except OSError:\n        pass\n"
        "try:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n"
        "print('still here', sorted(os.listdir('/proc'))[:3])\n"
    )
    try:
        result = bwrap.exec(*guard.program(code), fast)
        time.sleep(0.1)
        assert bystander.poll() is None, "the sandbox killed a host process"
    finally:
        bystander.kill()
        bystander.wait()
    os.kill(os.getpid(), 0)  # this test process is alive
    assert not result.timed_out
    guard.assert_unharmed(result)
