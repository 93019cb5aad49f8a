"""End to end: ``gdn demo`` serves the notebook with Voila, headless Chromium paints a stroke and inpaints.

Needs Debian's ``chromium``, ``node`` and the npm package ``playwright-core`` (in ``.venv/node/node_modules``,
or the folder named by ``$GDN_NODE_MODULES``); without them the test is SKIPPED with the install command.
``$GDN_DEMO_SCREENSHOT=path.png`` keeps a copy of the final screenshot (the book's demo page uses one), and
``$GDN_DEMO_TEST_CHECKPOINT`` replaces the random-weight smoke checkpoint (e.g. runs/cpu/det/last.pt):

    GDN_DEMO_TEST_CHECKPOINT=runs/cpu/det/last.pt GDN_DEMO_SCREENSHOT=book/_static_demo/demo.png \
        .venv/bin/python -m pytest tests/test_demo_browser.py
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "browser" / "demo_e2e.js"
SERVER_TIMEOUT = 120  # s for Voila to listen
DRIVER_TIMEOUT = 180  # s for each browser step (first kernel start, torch import, inpainting on a busy CPU)
# browser_tools (conftest): Chromium, node and playwright-core, or a skip that says how to install them


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the whole process group (gdn demo, Voila, its kernels), SIGKILL what is left after 20 s."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def test_voila_demo_paints_and_inpaints_in_chromium(browser_tools, tmp_path):
    from gdn.engine.checkpoint import save_checkpoint
    from gdn.config import resolve
    from gdn.frameworks import Framework

    chromium, node, modules = browser_tools
    ckpt = Path(os.environ.get("GDN_DEMO_TEST_CHECKPOINT") or tmp_path / "det.pt")  # a trained one for screenshots
    if not os.environ.get("GDN_DEMO_TEST_CHECKPOINT"):
        cfg = resolve("smoke", {"width": "8", "res_blocks": "1"})
        save_checkpoint(ckpt, Framework(cfg).state(), cfg, step=0)

    port = _free_port()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "gdn.cli", "demo", "--port", str(port), "--checkpoint",
                                   str(ckpt), "--no-browser", "--timeout", str(SERVER_TIMEOUT)],
                                  cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + SERVER_TIMEOUT + 10
        while f"demo: {url}" not in log.read_text(errors="replace"):
            assert server.poll() is None, f"gdn demo exited ({server.returncode}):\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"gdn demo did not print its address:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)

        shot = tmp_path / "demo.png"
        env = dict(os.environ, NODE_PATH=str(modules), CHROMIUM=chromium, USER_DATA_DIR=str(tmp_path / "profile"))
        try:
            run = subprocess.run([node, str(DRIVER), url, str(shot), str(DRIVER_TIMEOUT)], env=env,
                                 capture_output=True, text=True, timeout=DRIVER_TIMEOUT * 3 + 60)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"the browser driver timed out:\n{e.stderr}\n{log.read_text()[-3000:]}")
        lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
        assert lines, f"no report from the driver (rc {run.returncode}):\n{run.stdout}\n{run.stderr}"
        report = json.loads(lines[-1])
        assert report["ok"] and run.returncode == 0, (f"{report}\n--- driver\n{run.stderr[-3000:]}\n"
                                                       f"--- voila\n{log.read_text(errors='replace')[-3000:]}")
        assert report["hole_status"].startswith("hole: ")
        assert report["status"].startswith("inpainted 512x512 px in ")
        assert report["result_size"][0] > 0 and report["download"]["name"] == "astronaut_inpainted.png"
        assert shot.read_bytes()[:4] == b"\x89PNG"
        if os.environ.get("GDN_DEMO_SCREENSHOT"):  # a 256-colour copy, small enough to commit
            from PIL import Image
            with Image.open(shot) as im:
                im.convert("RGB").quantize(256).save(os.environ["GDN_DEMO_SCREENSHOT"], optimize=True)
    finally:
        _stop(server)
