"""What switching to the sandbox's pool uid costs a large caller: subprocess's `user=`/`group=` against the
`setpriv` prefix the sandbox uses since issue 28 (agentloop.sandbox._uids.as_uid).

    sudo .venv/bin/python bench/sandbox_spawn.py [--gib 0,1,4] [--spawns 20]

With `user=`/`group=`/`extra_groups=` CPython 3.11 cannot vfork, so every spawn forks the caller and copies
its page tables: nothing for a small process, a lot for an experiment's process, which holds the engine
(weights, KV cache). The caller here is this process with `--gib` GiB touched; each row is the median
spawn of `/bin/true` as a pool uid, both ways, and their ratio. Needs root (it switches uids).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from agentloop.sandbox._uids import SANDBOX_GID, UID_BASE, as_uid


def spawn_ms(n: int, setpriv: bool) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        if setpriv:
            subprocess.run(as_uid(["/bin/true"], UID_BASE, SANDBOX_GID), check=True)
        else:
            subprocess.run(["/bin/true"], user=UID_BASE, group=SANDBOX_GID, extra_groups=[], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", default="0,1,4", help="comma-separated caller sizes in GiB")
    parser.add_argument("--spawns", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the spawn switches to a pool uid")
    held: list[bytearray] = []
    print(f"{'caller size':<12} {'user=/group= ms':>16} {'setpriv ms':>11} {'ratio':>7}")
    for gib in sorted(int(g) for g in args.gib.split(",")):
        while len(held) < gib:
            block = bytearray(1 << 30)
            for i in range(0, len(block), 4096):  # touched: resident pages, as an engine's are
                block[i] = 1
            held.append(block)
        old, new = spawn_ms(args.spawns, False), spawn_ms(args.spawns, True)
        print(f"{gib:>3} GiB      {old:>16.1f} {new:>11.1f} {old / new:>6.1f}x")


if __name__ == "__main__":
    main()
