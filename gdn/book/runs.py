"""The one owner of the run-folder layout: ``runs/<profile>/<run>/`` (training runs: ``last.pt``, ``log.csv``,
``samples/``, ``summary.json``) and ``figures/<profile>/<name>/`` (what a notebook writes); training a run for the
book, reading its log and loading it back."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np


__all__ = ["RUNS", "FIGURES", "code_hash", "seed_run", "run_dir", "checkpoint", "figures_dir", "train_run", "read_log", "dose_response", "last_samples",
           "warm_start", "run_summary", "load_run", "test_images"]


RUNS = Path("runs")  # training runs, relative to the working directory (the repository for gdn book)
FIGURES = Path("figures")  # what the notebooks write; $GDN_FIGURES overrides it


def seed_run(run: str, k: int) -> str:
    """The name of seed ``k`` of a book run: ``run`` itself for the first (the profile's seed), ``run_seed<k>``
    for the others (the profile's seed + k)."""
    return run if k == 0 else f"{run}_seed{k}"


def run_dir(profile: str, run: str, root: str | Path = RUNS) -> Path:
    """Where ``gdn book`` keeps a training run: ``runs/<profile>/<run>``."""
    return Path(root) / profile / run


def checkpoint(profile: str, run: str, root: str | Path = RUNS) -> Path:
    """A run's latest checkpoint: ``runs/<profile>/<run>/last.pt``."""
    return run_dir(profile, run, root) / "last.pt"


def figures_dir(profile: str, name: str, root: str | Path | None = None) -> Path:
    """Where notebook ``name`` of ``profile`` writes: ``figures/<profile>/<name>`` (``root``, else
    ``$GDN_FIGURES``, else ``figures`` in the working directory)."""
    return Path(root or os.environ.get("GDN_FIGURES") or FIGURES) / profile / name


DDP = "GDN_DDP_PROCS"  # "N" (gdn book --ddp N sets it for its trainings): train_run trains with N DDP processes
FRESH = "GDN_FRESH_RUNS"  # "1" (gdn book --force sets it for its notebooks): train_run starts every run afresh


def code_hash(package_dir: str | Path | None = None) -> str:
    """sha256 over every ``.py`` file of the package (subpackages included) and the bundled checkpoints
    ``gdn/weights/*`` (paths and contents): a new warm start re-runs the trainings that start from it."""
    folder = Path(package_dir or Path(__file__).resolve().parents[1])
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*.py")) + sorted(folder.glob("weights/*")):
        h.update(f.relative_to(folder).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def train_run(profile: str, run: str, overrides: Mapping[str, Any], root: str | Path = RUNS) -> dict[str, Any]:
    """Train one run into ``runs/<profile>/<run>`` and return its config, folder, summary, log and the step it
    resumed from (``resumed_from``, 0 for a fresh start).

    The folder records what made it (``book.json``: the config and :func:`code_hash`). A run interrupted at any
    point (Ctrl-C, SIGKILL, a full disk) with the same config and code continues from its last checkpoint, and a
    finished one is kept as it is; a run made by another config or code, or any run when ``$GDN_FRESH_RUNS`` is
    1 (``gdn book --force``), is deleted first (``gdn.engine.train.train`` refuses to overwrite a run)."""
    from gdn.config import resolve
    from gdn.files import write_json

    cfg = resolve(profile, {k: v for k, v in overrides.items() if v is not None})
    out = run_dir(profile, run, root)
    made_by = {"config": cfg.to_dict(), "code": code_hash()}
    try:
        same = json.loads((out / "book.json").read_text()) == json.loads(json.dumps(made_by))
    except (OSError, ValueError):
        same = False
    same = same and os.environ.get(FRESH) != "1"
    resumed_from = 0
    if not same and out.exists():
        shutil.rmtree(out)
    if same and (out / "summary.json").is_file():
        resumed_from = None  # finished: nothing to train
    elif same and (out / "last.pt").is_file():
        from gdn.engine.checkpoint import load_checkpoint

        resumed_from = int(load_checkpoint(out / "last.pt")["step"])
        _train(cfg, out, resume=True)
    else:
        if out.exists():  # made by this config and code, but killed before its first checkpoint
            shutil.rmtree(out)
        out.mkdir(parents=True)
        write_json(out / "book.json", made_by)
        _train(cfg, out, resume=False)
    summary = json.loads((out / "summary.json").read_text())
    return {"config": cfg, "out": out, "summary": summary, "log": read_log(out), "resumed_from": resumed_from}


def _train(cfg, out: Path, resume: bool) -> None:
    """Train in this process, or with ``$GDN_DDP_PROCS`` > 1 DDP processes on this node (``torchrun``, one per
    GPU): the same run, resumable either way."""
    from gdn.engine.train import train
    from gdn.files import write_json

    procs = int(os.environ.get(DDP, "0") or 0)
    if procs <= 1:
        train(cfg, out, resume=resume, progress=False)
        return
    import subprocess
    import sys

    launch = out / "launch.json"  # the resolved config, every key: the processes train exactly this run
    write_json(launch, cfg.to_dict())
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs), "-m",
           "gdn.cli", "train", "--config", str(launch), "--out", str(out), "--quiet", *(["--resume"] if resume else [])]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        lines = [line for line in done.stderr.splitlines() if line.strip()] or ["(no message)"]
        raise RuntimeError(f"{out}: the {procs}-process training failed (exit {done.returncode}): {lines[-1]}")


def read_log(out: str | Path) -> list[dict[str, float]]:
    """``log.csv`` of a run as rows of floats (empty cells dropped)."""
    with open(Path(out) / "log.csv", newline="") as f:
        return _float_rows(f)


def dose_response(logs: Sequence[Sequence[Mapping[str, float]]], key: str) -> dict[str, np.ndarray]:
    """One run's validation curve over its seeds: the ``read_log`` rows of each seed -> ``{"step": (T,),
    "values": (S,T)}`` at the steps every seed logged ``key`` (``val_psnr``, ``val_auroc``)."""
    curves = [{r["step"]: r[key] for r in rows if key in r} for rows in logs]
    steps = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
    return {"step": np.asarray(steps, dtype=float),
            "values": np.asarray([[c[t] for t in steps] for c in curves], dtype=float).reshape(len(curves), -1)}


def _float_rows(lines) -> list[dict[str, float]]:
    # CSV lines of a training log (a file or a list of strings) -> rows of floats, empty cells dropped
    return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(lines)]


def last_samples(out: str | Path) -> np.ndarray | None:
    """The latest sample grid a run saved (``samples/step_*.png``) as (H,W,3) uint8, or None."""
    from PIL import Image

    grids = sorted((Path(out) / "samples").glob("step_*.png"))
    return np.asarray(Image.open(grids[-1]).convert("RGB")) if grids else None


def warm_start(cfg) -> dict[str, Any] | None:
    """What a run started from: the JSON beside its ``init`` checkpoint (config, log rows, summary, commit;
    written by :func:`gdn.engine.checkpoint.pack_generator`) plus ``"path"``, or None for a random start."""
    from gdn.engine.checkpoint import resolve_init

    if not cfg.init:
        return None
    path = resolve_init(cfg.init)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    meta["log"] = _float_rows(meta.get("log_csv", []))
    meta["path"] = str(path)
    return meta


def run_summary(profile: str, run: str, root: str | Path = RUNS) -> dict[str, Any]:
    """``summary.json`` of a finished run (steps, framework, val_psnr, train_seconds)."""
    return json.loads((run_dir(profile, run, root) / "summary.json").read_text())


def load_run(profile: str, run: str, root: str | Path = RUNS, device: str = "cpu"):
    """(generator method, critic or None, config) of ``runs/<profile>/<run>/last.pt``."""
    from gdn.engine.evaluate import load_method

    return load_method(checkpoint(profile, run, root), device)


def test_images(cfg, n_images: int = 0, split: str = "test"):
    """The config's test images (built-in test photos or ``test_data``), or with ``split="val"`` its validation
    images (built-in validation photos or ``val_data``); the first ``n_images`` if > 0."""
    from torch.utils.data import Subset

    from gdn.engine.loader import build_test_images, build_val_images

    if split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}")
    images = build_test_images(cfg) if split == "test" else build_val_images(cfg)
    if n_images and n_images < len(images):
        images = Subset(images, range(n_images))
    return images
