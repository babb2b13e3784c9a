"""vLLM decode throughput at batch 8 and 16 (used for the tcmalloc A/B in RESULTS.md).

    flock /tmp/agentloop-model.lock .venv/bin/python bench/throughput.py
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 flock /tmp/agentloop-model.lock .venv/bin/python bench/throughput.py
"""
import time, statistics, sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
from engines import PROMPTS
from agentloop.engines import make_engine
from agentloop.core.types import Sampling
e = make_engine("vllm")
g = Sampling(max_tokens=64, temperature=0.0)
e.generate(PROMPTS[:1], Sampling(max_tokens=4))
ts = []
for _ in range(3):
    t = time.perf_counter(); out = e.generate(PROMPTS * 2, g); ts.append(time.perf_counter() - t)
n = sum(o.completion_tokens for o in out)
print("TPUT batch16", n / statistics.median(ts))
ts = []
for _ in range(3):
    t = time.perf_counter(); out = e.generate(PROMPTS, g); ts.append(time.perf_counter() - t)
n = sum(o.completion_tokens for o in out)
print("TPUT batch8", n / statistics.median(ts))
