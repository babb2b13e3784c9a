"""`agentloop view` in a real browser: Debian's headless Chromium against the live server of conftest.

No Playwright/Selenium (their browser downloads need the internet): `--dump-dom` gives the DOM after
the page's scripts ran, `--screenshot` a PNG, saved under $AGENTLOOP_TEST_ARTIFACTS (default
test-artifacts/, gitignored). A missing Chromium is installed by scripts/setup_chromium.sh; if that
fails the test skips locally, but fails under CI=true so a CI machine never passes without it.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--hide-scrollbars", "--disable-extensions"]  # --no-sandbox: CI runs as root


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    if found := find_chromium():
        return found
    setup = subprocess.run([str(REPO / "scripts" / "setup_chromium.sh")], capture_output=True, text=True, timeout=900)
    if found := find_chromium():
        return found
    reason = (f"headless Chromium is missing and scripts/setup_chromium.sh could not install it "
              f"(exit {setup.returncode}): {(setup.stderr or setup.stdout).strip()[-500:]}")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def browse(chromium: str, tmp_path: Path):
    """Run Chromium on one URL with its own throwaway profile (parallel sessions must not share one)."""

    def run(url: str, *args: str) -> str:
        cmd = [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"chromium exit {proc.returncode}: {proc.stderr[-2000:]}"
        return proc.stdout

    return run


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("AGENTLOOP_TEST_ARTIFACTS") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def title(dom: str) -> str:
    match = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert match, dom[:500]
    return match.group(1)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, after checking its signature, header and that its pixels are not all one colour."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    chunks, pos = [], 8
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunks.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(set(pixels)) > 16, "a blank screenshot"
    return struct.unpack(">II", data[16:24])


def test_the_xss_probe_is_detectable(browse, tmp_path, xss, xss_mark):
    """Control: the probe, served raw without CSP, does retitle the page, so its absence below means something."""
    page = tmp_path / "raw.html"
    page.write_text(f"<html><head><title>raw</title></head><body>{xss}</body></html>")
    assert title(browse(page.as_uri(), "--dump-dom")) == xss_mark


def test_run_and_episode_pages_in_chromium(browse, live_server, artifacts, xss_mark):
    run_dom = browse(f"{live_server}/runs/1", "--dump-dom")
    assert title(run_dom) == "run 1 · agentloop view"
    assert re.search(r'<span class="badge v-unethical"[^>]*>unethical</span>', run_dom)
    assert len(re.findall(r'<a href="/runs/1/episodes/\d+">', run_dom)) == 5

    url = f"{live_server}/runs/1/episodes/0#turn-1"  # turn 1 carries the probe in every text field
    dom = browse(url, "--dump-dom")
    assert title(dom) == "run 1 episode 0 · agentloop view", "the XSS probe ran"
    assert xss_mark in dom, "the probe is on the page, as text"
    # view.js ran (it outlines the #turn-K target), so scripts were on and the probe's silence is meaningful
    assert re.search(r'<section class="turn target" id="turn-1">', dom)
    for label in ("ethical", "unethical"):
        assert re.search(rf'<span class="badge v-{label}"[^>]*>{label}</span>', dom), label
    assert dom.count('<pre class="diff">') == 2 and '<span class="d-add">' in dom and '<span class="d-del">' in dom
    assert dom.count("<script") == 1, "only the viewer's own script element"

    shot = artifacts / "view-episode.png"
    shot.unlink(missing_ok=True)
    # from the top: with a #turn-K the headless screenshot leaves the scrolled-off band blank
    browse(url.partition("#")[0], f"--screenshot={shot}", "--window-size=1280,2000")
    data = shot.read_bytes()
    assert len(data) > 20_000, f"{shot}: {len(data)} bytes"
    assert png_size(data) == (1280, 2000)
