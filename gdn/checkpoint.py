"""Checkpoints: state dicts, the resolved config and the step, loadable with ``torch.load(weights_only=True)``.

Writes are atomic (a temporary file in the same folder, fsync, then ``os.replace``), so a kill during a
write leaves the previous ``last.pt`` intact. Reading errors name the file and the problem.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .config import Config, ConfigError, from_dict

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "build_networks", "FORMAT"]

FORMAT = "gdn-checkpoint-1"


class CheckpointError(RuntimeError):
    pass


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any], cfg: Config, step: int, **extra) -> None:
    payload = {"format": FORMAT, "config": cfg.to_dict(), "step": int(step), **state, **extra}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint; every failure is one ``CheckpointError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, wrong pickle, not a torch file at all
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(e).__name__}: {e})".split("\n")[0]) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a gdn checkpoint (no '{FORMAT}' format tag)")
    try:
        ckpt["config"] = from_dict(ckpt["config"])
    except (ConfigError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path}: the saved config is not valid here ({e})") from None
    return ckpt


def build_networks(ckpt: dict[str, Any], path: str | os.PathLike = "checkpoint"):
    """The generator and (when the checkpoint has one) the critic, with the checkpoint's weights, in eval mode."""
    from .frameworks import build_critic
    from .networks import Generator

    cfg: Config = ckpt["config"]
    generator = Generator(cfg.width, cfg.res_blocks)
    critic = build_critic(cfg.framework) if "critic" in ckpt else None
    try:
        generator.load_state_dict(ckpt["generator"])
        if critic is not None:
            critic.load_state_dict(ckpt["critic"])
    except (RuntimeError, KeyError) as e:
        first = str(e).strip().split("\n")[0]
        raise CheckpointError(f"{path}: weights do not fit the {cfg.framework} architecture of its config ({first})") from None
    return generator.eval(), (critic.eval() if critic is not None else None)
