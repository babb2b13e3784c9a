#!/usr/bin/env bash
# Install what the agentloop sandbox needs and check that it works. Idempotent; bin/bootstrap runs it.
#   scripts/setup_sandbox.sh [PYTHON]   (default: .venv/bin/python of this checkout)
# As root: apt-installs bubblewrap >= 0.8 (namespaces, --disable-userns), acl (setfacl) and util-linux (prlimit) if missing,
# then lets the sandbox gid pass through the dirs above the interpreter (see agentloop/sandbox/setup.py).
# Not root: prints the one command to run; the sandbox then runs as you.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-.venv/bin/python}"

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v setfacl >/dev/null || missing+=(acl)
command -v prlimit >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "agentloop sandbox: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! bwrap --help 2>&1 | grep -q -- --disable-userns; then
  echo "agentloop sandbox: bubblewrap $(bwrap --version 2>&1 | head -1) lacks --disable-userns (needs >= 0.8.0," \
       "Debian 12 / Ubuntu 24.04); install a newer bubblewrap, or run scenarios with sandbox.backend: rlimit" >&2
  exit 1
fi
exec "$PYTHON" -m agentloop.sandbox.setup
