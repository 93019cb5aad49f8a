"""Checkpoints: state dicts, the resolved config and the step, loadable with ``torch.load(weights_only=True)``.

Writes are atomic (a temporary file in the same folder, fsync, then ``os.replace``), so a kill during a
write leaves the previous ``last.pt`` intact. Reading errors name the file and the problem.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from gdn.config import Config, ConfigError, from_dict
from gdn.files import atomic_write, write_json

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "build_networks", "load_generator_and_detector",
           "resolve_init", "pack_generator", "pack_critic", "FORMAT", "BUNDLED"]

FORMAT = "gdn-checkpoint-1"
BUNDLED = Path(__file__).resolve().parents[1] / "weights"  # checkpoints shipped with the package: gdn:NAME


class CheckpointError(RuntimeError):
    pass


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
    from gdn.frameworks import build_critic
    from gdn.anchored import build_generator

    cfg: Config = ckpt["config"]
    generator = build_generator(cfg)
    critic = build_critic(cfg.framework, cfg.critic_width) if "critic" in ckpt else None
    try:
        generator.load_state_dict(ckpt["generator"])
        if critic is not None:
            critic.load_state_dict(ckpt["critic"])
    except (RuntimeError, KeyError) as e:
        first = str(e).strip().split("\n")[0]
        raise CheckpointError(f"{path}: weights do not fit the {cfg.framework} architecture of its config ({first})") from None
    return generator.eval(), (critic.eval() if critic is not None else None)


def load_generator_and_detector(path: str | os.PathLike):
    """``(generator, detector or None, checkpoint)`` of the checkpoint file ``path``, networks in eval mode. Only a
    Det checkpoint has a detector (a pixel-wise map); an Adv checkpoint's discriminator scores whole images."""
    from gdn.networks import Detector

    ckpt = load_checkpoint(path)
    generator, critic = build_networks(ckpt, path)
    detector = critic if ckpt["config"].framework == "det" and isinstance(critic, Detector) else None
    return generator, detector, ckpt


def resolve_init(spec: str) -> Path:
    """The file of a config's ``init``: ``gdn:NAME`` is ``gdn/weights/NAME.pt`` (shipped with the package),
    anything else a path. A missing file is a ``CheckpointError`` naming it."""
    if spec.startswith("gdn:"):
        path = BUNDLED / f"{spec[4:]}.pt"
        if not path.is_file():
            known = sorted(p.stem for p in BUNDLED.glob("*.pt"))
            raise CheckpointError(f"{path}: no bundled checkpoint {spec!r}; bundled: {', '.join(known) or 'none'}")
        return path
    path = Path(spec)
    if not path.is_file():
        raise CheckpointError(f"{path}: init checkpoint not found")
    return path


def pack_generator(run: str | os.PathLike, dest: str | os.PathLike, *, commit: str = "") -> Path:
    """Ship the generator of a finished run (``run/last.pt``) as ``dest`` (``.pt``, generator weights, config
    and step only: no optimiser state) with ``dest.json`` beside it: the config, the run's summary and
    log, and the commit that trained it. This is how ``gdn/weights/cpu-warmstart.pt`` is made."""
    import json

    run, dest = Path(run), Path(dest)
    ckpt = load_checkpoint(run / "last.pt")
    payload = {"format": FORMAT, "config": ckpt["config"].to_dict(), "step": ckpt["step"],
               "generator": ckpt["generator"], "framework": ckpt["config"].framework}
    atomic_write(dest, lambda f: torch.save(payload, f))
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").is_file() else {}
    log = (run / "log.csv").read_text() if (run / "log.csv").is_file() else ""
    meta = {"config": ckpt["config"].to_dict(), "step": ckpt["step"], "summary": summary, "git_commit": commit,
            "log_csv": log.splitlines()}
    write_json(dest.with_suffix(".json"), meta, indent=1)
    return dest


def pack_critic(run: str | os.PathLike, dest: str | os.PathLike, *, commit: str = "", command: str = "") -> Path:
    """Ship the detector of a finished Det run (``run/last.pt``) for a config's ``cooldown_init``: added to the
    packed checkpoint ``dest`` if there is one (its generator kept; the detector's config, step and log under
    ``critic_config`` / ``critic_step`` and ``dest.json``'s ``"detector"``), else written alone. This is how
    ``make warmstart`` puts the detector beside the generator in ``gdn/weights/cpu-warmstart.pt``; ``command``,
    if given, is recorded in ``dest.json`` as what regenerates the file."""
    import json

    run, dest = Path(run), Path(dest)
    ckpt = load_checkpoint(run / "last.pt")
    if ckpt["config"].framework != "det" or "critic" not in ckpt:
        raise CheckpointError(f"{run / 'last.pt'}: not a Det run; only a Det run has a detector to ship")
    cfg = ckpt["config"].to_dict()
    if dest.is_file():
        load_checkpoint(dest)  # a packed checkpoint, or one clear error naming it
        payload = torch.load(dest, map_location="cpu", weights_only=True)
    else:
        payload = {"format": FORMAT, "config": cfg, "step": ckpt["step"], "framework": "det"}
    payload.update(critic=ckpt["critic"], critic_config=cfg, critic_step=ckpt["step"])
    atomic_write(dest, lambda f: torch.save(payload, f))
    meta_path = dest.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {"config": cfg, "step": ckpt["step"]}
    log = (run / "log.csv").read_text() if (run / "log.csv").is_file() else ""
    meta["detector"] = {"config": cfg, "step": ckpt["step"], "git_commit": commit, "log_csv": log.splitlines()}
    if command:
        meta["command"] = command
    write_json(meta_path, meta, indent=1)
    return dest
