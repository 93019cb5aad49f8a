"""Trained checkpoints as evaluation methods, scored by :func:`gdn.evaluation.evaluate` beside the classical
baselines, per mask-ratio bin (paper Table 1); what ``gdn evaluate`` runs:

    gdn evaluate --checkpoint runs/det/last.pt --builtin --mask-bank 8 --baselines --out runs/det/eval
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import torch

from gdn.device import autocast, resolve_device
from gdn.engine.checkpoint import build_networks, load_checkpoint
from gdn.files import write_json

__all__ = ["generator_method", "load_method", "evaluate_checkpoints", "evaluate_to_folder"]


def generator_method(generator: torch.nn.Module, device: str | torch.device = "cpu", precision: str = "fp32"
                     ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Wrap a generator as an ``evaluate`` method: ``(image, mask) -> pred`` on CPU tensors."""
    device = resolve_device(device)
    generator = generator.to(device).eval()

    @torch.inference_mode()
    def run(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # image (B,3,H,W) [0,1]; mask (B,1,H,W), 1 = hole. The generator blanks the holes itself.
        with autocast(device, precision):
            pred = generator(image.to(device), mask.to(device))
        return pred.float().cpu()
    return run


def load_method(path: str | Path, device: str = "cpu", precision: str = "fp32"):
    """A checkpoint's generator as an ``evaluate`` method, its critic (on ``device``, eval mode; None for Weight)
    and its config."""
    ckpt = load_checkpoint(path)
    generator, critic = build_networks(ckpt, path)
    if critic is not None:
        critic = critic.to(resolve_device(device)).eval()
    return generator_method(generator, device, precision), critic, ckpt["config"]


def evaluate_checkpoints(checkpoints: Mapping[str, str | Path], images, masks, *, baselines: bool = False,
                         fid="auto", device: str = "cpu", batch_size: int = 8, progress: bool = True) -> list[dict]:
    """Score several checkpoints (name -> path), and optionally the classical baselines, on the same
    images and the same masks; one row per method x ratio bin."""
    from gdn.baselines import BASELINES
    from gdn.evaluation.protocol import evaluate

    methods = {name: load_method(path, device)[0] for name, path in checkpoints.items()}
    if baselines:
        methods.update(BASELINES)
    return evaluate(methods, images, masks, batch_size=batch_size, fid=fid, device=device, progress=progress)


def evaluate_to_folder(checkpoints: Mapping[str, str | Path], out: str | Path, *, images: str | None = None,
                       masks: str | None = None, per_bin: int = 8, invert_mask: bool = False,
                       baselines: bool = False, fid="auto", n_images: int | None = None, seed: int = 0,
                       device: str = "cpu") -> list[dict]:
    """What ``gdn evaluate`` does: score ``checkpoints`` on ``images`` (a folder or list; default the built-in
    test photos) with ``masks`` (a folder or list; default a generated bank of ``per_bin`` masks per ratio bin),
    and write ``out/metrics.csv`` and ``out/metrics.json``. Every checkpoint is loaded before any scoring."""
    from gdn.data import BuiltinPhotos, ImageFolder
    from gdn.evaluation.protocol import rows_to_csv
    from gdn.masks import load_masks, mask_bank

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder")
    configs = {name: load_checkpoint(path)["config"] for name, path in checkpoints.items()}  # fail early
    cfg = next(iter(configs.values()))
    pictures = (ImageFolder(images, size=cfg.size) if images
                else BuiltinPhotos("test", size=cfg.size, n=n_images or cfg.builtin_test, seed=cfg.seed))
    holes = load_masks(masks, cfg.size, invert=invert_mask) if masks else mask_bank(per_bin, cfg.size, seed=seed)
    rows = evaluate_checkpoints(checkpoints, pictures, holes, baselines=baselines, fid=fid, device=device)
    out.mkdir(parents=True, exist_ok=True)
    rows_to_csv(rows, out / "metrics.csv")
    meta = {"checkpoints": {k: str(v) for k, v in checkpoints.items()}, "images": images or "builtin",
            "masks": masks or f"mask_bank({per_bin}, seed={seed})", "rows": rows}
    write_json(out / "metrics.json", meta, default=str)
    return rows
