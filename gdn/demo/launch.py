"""Serving the demo: which checkpoint it loads, and ``gdn demo`` (its notebook, shipped with the package, in Voila)."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gdn.book import runs

__all__ = ["NOTEBOOK", "ENV_CHECKPOINT", "DEFAULT_CHECKPOINT", "BUNDLED_CHECKPOINT", "TRAIN_COMMAND", "home",
           "find_checkpoint", "voila_command", "serve"]

PACKAGE = Path(__file__).resolve().parents[1]  # the gdn package
NOTEBOOK = PACKAGE / "demo" / "demo.ipynb"  # package data; notebooks/demo.ipynb links to it
ENV_CHECKPOINT = "GDN_DEMO_CHECKPOINT"
DEFAULT_CHECKPOINT = runs.checkpoint("cpu", "det")  # what make book trains
# the last resort on a fresh clone: the cpu profile's warm-start generator, shipped with the package (no detector)
BUNDLED_CHECKPOINT = PACKAGE / "weights" / "cpu-warmstart.pt"
TRAIN_COMMAND = "gdn train --profile cpu --out runs/cpu/det"


def home() -> Path:
    """Where runs live: the repository when gdn runs from a checkout, else the current folder."""
    repo = PACKAGE.parent
    return repo if (repo / "_toc.yml").is_file() else Path.cwd()


def _search_roots() -> list[Path]:
    roots = []
    for r in (Path.cwd(), Path.cwd().parent, home()):
        r = r.resolve()
        if r not in roots:
            roots.append(r)
    return roots


def find_checkpoint(checkpoint: str | os.PathLike | None = None) -> tuple[Path | None, list[str]]:
    """The checkpoint the demo should load, and the places it looked.

    Order: ``checkpoint`` (returned even when missing, so the demo can say so), ``$GDN_DEMO_CHECKPOINT``,
    ``runs/cpu/det/last.pt`` (``make book``), the newest ``runs/*/det/last.pt``, searched in the current
    folder, its parent (notebooks/ -> the repository) and the repository of this package; last the warm-start
    generator that ships with the package (it inpaints, but has no detector for the artifact map)."""
    for given in (checkpoint, os.environ.get(ENV_CHECKPOINT)):
        if given not in (None, ""):
            return Path(given).expanduser(), [str(given)]
    looked = []
    for root in _search_roots():
        looked.append(str(root / DEFAULT_CHECKPOINT))
        if (root / DEFAULT_CHECKPOINT).is_file():
            return root / DEFAULT_CHECKPOINT, looked
    found = []
    for root in _search_roots():
        pattern = runs.checkpoint("*", "det")  # runs/*/det/last.pt
        looked.append(str(root / pattern))
        found += [p for p in root.glob(pattern.as_posix()) if p.is_file()]
    if found:
        return max(found, key=lambda p: p.stat().st_mtime), looked
    looked.append(str(BUNDLED_CHECKPOINT))
    if BUNDLED_CHECKPOINT.is_file():
        return BUNDLED_CHECKPOINT, looked
    return None, looked


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def voila_command(notebook: str | os.PathLike, port: int) -> list[str]:
    """The Voila command line that serves ``notebook`` on 127.0.0.1:``port``."""
    exe = Path(sys.executable).with_name("voila")
    head = [str(exe)] if exe.exists() else ([shutil.which("voila")] if shutil.which("voila") else
                                             [sys.executable, "-m", "voila"])
    return head + [str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
                   "--show_tracebacks=True"]


def serve(port: int = 8866, checkpoint: str | None = None, *, open_browser: bool = True,
          timeout: float = 120.0) -> int:
    """Serve the demo notebook with Voila on 127.0.0.1:``port`` until Ctrl-C; returns Voila's exit status."""
    notebook = NOTEBOOK
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook}: the demo notebook is missing")
    env = dict(os.environ)
    if checkpoint:
        ckpt = Path(checkpoint).expanduser().resolve()
        if not ckpt.is_file():
            raise FileNotFoundError(f"{checkpoint}: checkpoint not found")
    else:  # chosen here, where the user stands: Voila's kernel starts in the notebook's folder
        ckpt, _ = find_checkpoint()
    if ckpt is not None:
        env[ENV_CHECKPOINT] = str(Path(ckpt).resolve())
    if not 0 < port < 65536:
        raise ValueError(f"--port {port}: not a TCP port")
    if not _port_free(port):
        raise OSError(f"port {port} on 127.0.0.1 is in use; pass --port with another number")
    cmd = voila_command(notebook, port)
    try:
        proc = subprocess.Popen(cmd, cwd=home(), env=env)
    except FileNotFoundError:
        raise RuntimeError("voila is not installed: pip install 'gdn[demo]' (or make venv)") from None
    url = f"http://127.0.0.1:{port}/"

    def stop(*_):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    def on_term(*_):  # unwind out of proc.wait(); the finally clause stops Voila
        raise SystemExit(143)
    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited with status {proc.returncode} before serving {url}")
            try:  # a bare TCP connect: a GET of the page would start a kernel
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:  # not up yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not answer at {url} within {timeout:.0f} s") from None
                time.sleep(0.3)
        print(f"demo: {url}", flush=True)
        if open_browser:
            import webbrowser
            with contextlib.suppress(Exception):
                webbrowser.open(url)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
        signal.signal(signal.SIGTERM, old_term)
