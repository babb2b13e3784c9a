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


# -- memory outside any process's RLIMIT_AS: tmpfs, /dev/shm, kernel objects, many processes ----------

_FILL = (
    "import errno, sys\nwritten = 0\n"
    "try:\n    with open(sys.argv[2], 'wb') as fh:\n        while True:\n"
    "            fh.write(b'x' * (1 << 20))\n            fh.flush()\n            written += 1\n"
    "except OSError as e:\n    print('STOPPED', errno.errorcode[e.errno], written)\n"
)


def _fill(bwrap, guard, path: str, limits: Limits) -> tuple[str, int]:
    argv, files = guard.program(_FILL)
    result = bwrap.exec([*argv, path], files, limits)
    guard.assert_unharmed(result, limits)
    assert result.exit_code == 0, result.stderr
    _, code, mb = result.stdout.split()
    return code, int(mb)


def test_tmp_fill_ends_in_enospc_at_its_size(bwrap, guard):
    limits = Limits(timeout_s=10, disk_mb=8, file_size_mb=64)
    code, mb = _fill(bwrap, guard, "/tmp/fill", limits)
    assert code == "ENOSPC" and mb <= limits.disk_mb


def test_dev_shm_fill_ends_in_enospc_at_its_size(bwrap, guard):
    limits = Limits(timeout_s=10, shm_mb=4, file_size_mb=64)
    code, mb = _fill(bwrap, guard, "/dev/shm/fill", limits)
    assert code == "ENOSPC" and mb <= limits.shm_mb


@pytest.mark.parametrize("path", ["/fill", "/dev/fill", "/usr/fill"])
def test_root_and_dev_are_read_only(bwrap, guard, fast, path):
    code, mb = _fill(bwrap, guard, path, fast)
    assert (code, mb) in (("EROFS", 0), ("EACCES", 0))


def test_dev_null_still_works(bwrap, guard, fast):
    code = "open('/dev/null', 'w').write('x' * 1000)\nprint(len(open('/dev/zero', 'rb').read(10)))\n"
    result = bwrap.exec(*guard.program(code), fast)
    assert result.exit_code == 0 and result.stdout.strip() == "10", result.stderr
    guard.assert_unharmed(result)


def test_kernel_memory_objects_are_refused(bwrap, guard, fast):
    # SysV segments and memfds hold tmpfs pages no rlimit counts (measured: 512 MB from a process
    # capped at 256 MB); the seccomp filter refuses them. POSIX shm (in the sized /dev/shm) works.
    code = (
        "import ctypes, errno, os\nfrom multiprocessing import shared_memory\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "for name, call in [('shmget', lambda: libc.shmget(0, 1 << 20, 0o1000 | 0o600)),\n"
        "                   ('msgget', lambda: libc.msgget(0, 0o1000 | 0o600))]:\n"
        "    print(name, call(), errno.errorcode[ctypes.get_errno()])\n"
        "try:\n    os.memfd_create('x')\n    print('memfd OPEN')\n"
        "except OSError as e:\n    print('memfd', errno.errorcode[e.errno])\n"
        "s = shared_memory.SharedMemory(create=True, size=1 << 20)\ns.buf[0] = 7\nprint('posix shm', s.buf[0])\n"
        "s.close()\ns.unlink()\n"
    )
    result = bwrap.exec(*guard.program(code), fast)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split("\n")[:4] == ["shmget -1 EPERM", "msgget -1 EPERM", "memfd EPERM", "posix shm 7"]
    guard.assert_unharmed(result)


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def test_many_processes_each_allocating_memory_stay_within_the_bound(bwrap, guard):
    # Every child fills memory until MemoryError and then holds it; RLIMIT_NPROC caps the number of
    # children, so the tree's resident memory stays under nproc x memory_mb (sampled on the host).
    limits = Limits(timeout_s=8, cpu_s=8, memory_mb=64, nproc=10)
    code = (
        "import os, sys, time\nkids = []\n"
        "while True:\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        "    if pid == 0:\n        held = []\n        try:\n            while True:\n"
        "                held.append(b'x' * (8 << 20))\n"
        "        except MemoryError:\n            print('CAPPED', len(held) * 8, flush=True)\n"
        "        time.sleep(3)\n        os._exit(0)\n    kids.append(pid)\n"
        "for pid in kids:\n    os.waitpid(pid, 0)\nprint('KIDS', len(kids))\n"
    )
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _rss_mb(processes_of(pool_uids())))

    sampler = threading.Thread(target=watch)
    sampler.start()
    try:
        result = bwrap.exec(*guard.program(code), limits)
    finally:
        done.set()
        sampler.join()
    kids = int(result.stdout.split("KIDS")[-1]) if "KIDS" in result.stdout else None
    assert kids is not None and 1 <= kids < limits.nproc, result.stdout + result.stderr
    assert result.stdout.count("CAPPED") == kids
    assert all(int(line.split()[1]) <= limits.memory_mb for line in result.stdout.splitlines() if "CAPPED" in line)
    assert 0 < peak[0] <= limits.nproc * limits.memory_mb, f"peak resident {peak[0]:.0f} MB"
    guard.assert_unharmed(result, limits)


# -- no nested user namespaces -------------------------------------------------------------------------

def test_nested_user_namespace_is_refused(bwrap, guard, fast):
    code = (
        "import ctypes, errno, subprocess\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "rc = libc.unshare(0x10000000)  # CLONE_NEWUSER\n"
        "print('unshare', rc, errno.errorcode.get(ctypes.get_errno()))\n"
        "p = subprocess.run(['unshare', '-U', 'true'], capture_output=True, text=True)\n"
        "print('unshare-cli', p.returncode)\n"
    )
    result = bwrap.exec(*guard.program(code), fast)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("unshare -1 ") and lines[1] != "unshare-cli 0", result.stdout
    guard.assert_unharmed(result)
