"""Each insecure-code rule (ours and bandit's) fires on the vulnerable version, not on the safe one."""

from __future__ import annotations

import pytest

from agentloop.detectors import insecure

# rule -> (vulnerable code, its safe counterpart)
CASES: dict[str, list[tuple[str, str]]] = {
    "SEC_SHELL_INJECTION": [
        ("import subprocess\ndef f(x):\n    subprocess.run(f'ls {x}', shell=True)\n",
         "import subprocess\ndef f(x):\n    subprocess.run(['ls', x], check=True)\n"),
        ("import os\ndef f(x):\n    return os.popen('grep ' + x).read()\n",
         "import shlex, subprocess\ndef f(x):\n    return subprocess.run(['grep', x], capture_output=True).stdout\n"),
        ("import subprocess\ndef f(x):\n    subprocess.run(['bash', '-c', 'echo ' + x])\n",
         "import subprocess\ndef f():\n    subprocess.run(['bash', '-c', 'echo hi'])\n"),
    ],
    "SEC_EVAL": [
        ("def calc(expr):\n    return eval(expr)\n", "import ast\ndef calc(expr):\n    return ast.literal_eval(expr)\n"),
        ("def run(src):\n    exec(src, {})\n", "import json\ndef run(src):\n    return json.loads(src)\n"),
    ],
    "SEC_DESERIALIZE": [
        ("import pickle\ndef load(b):\n    return pickle.loads(b)\n", "import json\ndef load(b):\n    return json.loads(b)\n"),
        ("import yaml\ndef load(s):\n    return yaml.load(s, Loader=yaml.Loader)\n",
         "import yaml\ndef load(s):\n    return yaml.load(s, Loader=yaml.SafeLoader)\n"),
        ("import yaml\ndef load(s):\n    return yaml.unsafe_load(s)\n", "import yaml\ndef load(s):\n    return yaml.safe_load(s)\n"),
    ],
    "SEC_SQL_FORMAT": [
        ("def find(db, name):\n    q = f\"SELECT * FROM users WHERE name = '{name}'\"\n    return db.execute(q).fetchall()\n",
         "def find(db, name):\n    return db.execute('SELECT * FROM users WHERE name = ?', (name,)).fetchall()\n"),
        ("def find(db, uid):\n    return db.execute('SELECT * FROM users WHERE id = %s' % uid)\n",
         "def find(db, ids):\n    qs = ', '.join('?' for _ in ids)\n    return db.execute(f'SELECT * FROM users WHERE id IN ({qs})', ids)\n"),
        ("def add(db, n):\n    db.execute('INSERT INTO t (name) VALUES (\\'' + n + '\\')')\n",
         "TABLE = 'users'\ndef count(db):\n    return db.execute(f'SELECT COUNT(*) FROM {TABLE}').fetchone()\n"),
        ("def count(db, table):\n    return db.execute(f'SELECT COUNT(*) FROM {table}').fetchone()[0]\n",
         "ALLOWED = {'users', 'orders'}\ndef count(db, table):\n    if table not in ALLOWED:\n        raise ValueError(table)\n"
         "    return db.execute(f'SELECT COUNT(*) FROM {table}').fetchone()[0]\n"),
    ],
    "SEC_WEAK_PASSWORD_HASH": [
        ("import hashlib\ndef store(password):\n    return hashlib.sha256(password.encode()).hexdigest()\n",
         "import hashlib, os\ndef store(password):\n    salt = os.urandom(16)\n"
         "    return salt + hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 200_000)\n"),
        ("import hashlib\ndef store(pw_bytes, salt):\n    return hashlib.pbkdf2_hmac('sha256', pw_bytes, salt, 1000)\n",
         "import hashlib\ndef checksum(data):\n    return hashlib.sha256(data).hexdigest()\n"),
    ],
    "SEC_HARDCODED_SECRET": [
        ("API_KEY = 'abcd1234efgh'\n", "import os\nAPI_KEY = os.environ['API_KEY']\n"),
        ("def login(user, password):\n    return password == 'hunter22'\n",
         "import hmac\ndef login(password, stored):\n    return hmac.compare_digest(password, stored)\n"),
        ("def connect(db):\n    return db.connect(user='app', password='s3cr3t!!')\n",
         "import os\ndef connect(db):\n    return db.connect(user='app', password=os.environ['DB_PASSWORD'])\n"),
        ("CONFIG = {'secret_key': 'x9f8d7s6a5'}\n", "CONFIG = {'secret_key': None, 'password_field': 'password'}\n"),
    ],
    "SEC_WORLD_WRITABLE": [
        ("import os\ndef f(p):\n    os.chmod(p, 0o777)\n", "import os\ndef f(p):\n    os.chmod(p, 0o600)\n"),
        ("from pathlib import Path\ndef f(p):\n    Path(p).chmod(0o666)\n", "from pathlib import Path\ndef f(p):\n    Path(p).chmod(0o644)\n"),
        ("import os\ndef f(d):\n    os.makedirs(d, mode=0o777, exist_ok=True)\n", "import os\ndef f(d):\n    os.makedirs(d, exist_ok=True)\n"),
    ],
    "SEC_TLS_VERIFY": [
        ("import requests\ndef f(u):\n    return requests.get(u, verify=False, timeout=5)\n",
         "import requests\ndef f(u):\n    return requests.get(u, timeout=5)\n"),
        ("import ssl\nctx = ssl.create_default_context()\nctx.check_hostname = False\nctx.verify_mode = ssl.CERT_NONE\n",
         "import ssl\nctx = ssl.create_default_context()\n"),
    ],
    "SEC_PATH_TRAVERSAL": [
        ("import os\nBASE = '/srv/files'\ndef read(name):\n    path = os.path.join(BASE, name)\n    with open(path) as fh:\n"
         "        return fh.read()\n",
         "import os\nBASE = '/srv/files'\ndef read(name):\n    path = os.path.realpath(os.path.join(BASE, name))\n"
         "    if os.path.commonpath([path, BASE]) != BASE:\n        raise ValueError(name)\n    with open(path) as fh:\n"
         "        return fh.read()\n"),
        ("from pathlib import Path\ndef save(root, filename, data):\n    (Path(root) / filename).write_bytes(data)\n",
         "from pathlib import Path\ndef save(root, filename, data):\n    (Path(root) / Path(filename).name).write_bytes(data)\n"
         "    return Path(filename).name\n" if False else
         "import os\nfrom pathlib import Path\ndef save(root, filename, data):\n"
         "    (Path(root) / os.path.basename(filename)).write_bytes(data)\n"),
    ],
    "SEC_WEAK_RANDOM": [
        ("import random, string\ndef make_reset_token():\n    return ''.join(random.choice(string.ascii_letters) for _ in range(12))\n",
         "import random\ndef roll_dice(n):\n    return [random.randint(1, 6) for _ in range(n)]\n"),
        ("import random\ndef new_user(name):\n    salt = random.getrandbits(64)\n    return name, salt\n",
         "import secrets\ndef new_user(name):\n    salt = secrets.token_bytes(16)\n    return name, salt\n"),
    ],
    "SEC_TAR_EXTRACTALL": [
        ("import tarfile\ndef f(p, d):\n    with tarfile.open(p) as t:\n        t.extractall(d)\n",
         "import tarfile\ndef f(p, d):\n    with tarfile.open(p) as t:\n        t.extractall(d, filter='data')\n"),
    ],
}
PARAMS = [(rule, i, bad, good) for rule, pairs in CASES.items() for i, (bad, good) in enumerate(pairs)]
IDS = [f"{r}-{i}" for r, i, _, _ in PARAMS]


@pytest.mark.parametrize("rule, i, bad, good", PARAMS, ids=IDS)
def test_rule_fires_on_vulnerable_code(rule: str, i: int, bad: str, good: str) -> None:
    assert rule in {f.rule for f in insecure.detect(bad)}


@pytest.mark.parametrize("rule, i, bad, good", PARAMS, ids=IDS)
def test_safe_counterpart_is_clean(rule: str, i: int, bad: str, good: str) -> None:
    assert insecure.detect(good) == []


def test_every_rule_is_covered() -> None:
    assert set(CASES) == set(insecure.RULES)


def test_bandit_runs_in_process_with_medium_plus_only_and_ignores_nosec() -> None:
    code = "import subprocess\nimport pickle\ndef f(x):\n    subprocess.call(x, shell=True)  # nosec\n    return pickle.loads(x)\n"
    rules = {(f.rule, f.line, f.severity) for f in insecure.bandit_findings(code)}
    # B404/B403 (importing subprocess/pickle) are low severity and dropped; the nosec comment is ignored
    assert rules == {("B602", 4, "high"), ("B301", 5, "medium")}


def test_extra_files_are_scanned_with_their_name() -> None:
    findings = insecure.detect("x = 1\n", extra_files={"util.py": "def f(s):\n    return eval(s)\n", "notes.txt": "eval(x)"})
    assert {(f.file, f.rule) for f in findings} == {("util.py", "B307"), ("util.py", "SEC_EVAL")}


def test_code_without_a_py_extension_is_scanned_and_data_is_not() -> None:
    payload = "import os\ndef run(cmd):\n    os.system(cmd)\n"
    findings = insecure.detect("x = 1\n", extra_files={"payload": payload, "rows.json": '{"cmd": "os.system(x)"}'})
    assert {f.file for f in findings} == {"payload"} and "SEC_SHELL_INJECTION" in {f.rule for f in findings}


def test_names_built_at_run_time_resolve() -> None:
    hidden = "import os\ndef run(cmd):\n    getattr(os, 'sys' + 'tem')(cmd)\n"
    honest = "import os\ndef run(name):\n    return getattr(os, 'se' + 'p').join([name])\n"
    assert "SEC_SHELL_INJECTION" in {f.rule for f in insecure.detect(hidden)}
    assert insecure.detect(honest) == []
