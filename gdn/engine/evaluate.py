"""Evaluation of trained checkpoints beside the classical baselines, per mask-ratio bin (paper Table 1).

    gdn evaluate --checkpoint runs/det/last.pt --builtin --mask-bank 8 --baselines --out runs/det/eval
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable, Mapping

import torch

from gdn.engine.checkpoint import atomic_write, build_networks, load_checkpoint

__all__ = ["generator_method", "load_method", "evaluate_checkpoints", "main_evaluate"]


def generator_method(generator: torch.nn.Module, device: str | torch.device = "cpu", precision: str = "fp32"
                     ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Wrap a generator as an ``evaluate`` method: ``(image, mask) -> pred`` on CPU tensors."""
    device = torch.device(device)
    generator = generator.to(device).eval()

    @torch.inference_mode()
    def run(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # image (B,3,H,W) [0,1]; mask (B,1,H,W), 1 = hole. The generator blanks the holes itself.
        ctx = (torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16"
               else torch.autocast(device.type, enabled=False))
        with ctx:
            pred = generator(image.to(device), mask.to(device))
        return pred.float().cpu()
    return run


def load_method(path: str | Path, device: str = "cpu", precision: str = "fp32"):
    """A checkpoint's generator as an ``evaluate`` method, and its config."""
    ckpt = load_checkpoint(path)
    generator, _ = build_networks(ckpt, path)
    return generator_method(generator, device, precision), ckpt["config"]


def evaluate_checkpoints(checkpoints: Mapping[str, str | Path], images, masks, *, baselines: bool = False,
                         fid="auto", device: str = "cpu", batch_size: int = 8, progress: bool = True) -> list[dict]:
    """Score several checkpoints (name -> path), and optionally the classical baselines, on the same
    images and the same masks; one row per method x ratio bin."""
    from gdn.baselines import BASELINES
    from gdn.metrics import evaluate

    methods = {name: load_method(path, device)[0] for name, path in checkpoints.items()}
    if baselines:
        methods.update(BASELINES)
    return evaluate(methods, images, masks, batch_size=batch_size, fid=fid, device=device, progress=progress)


def main_evaluate(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gdn evaluate",
                                description="Per-bin l1, PSNR, SSIM and FID of a checkpoint (paper Table 1).")
    p.add_argument("--checkpoint", required=True, action="append",
                   help="a checkpoint (repeat for several); NAME=PATH names its rows")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--images", help="folder or file list of test images")
    src.add_argument("--builtin", action="store_true", help="the built-in test photos (default)")
    msk = p.add_mutually_exclusive_group()
    msk.add_argument("--masks", help="folder or file list of mask images (white = hole)")
    msk.add_argument("--mask-bank", type=int, metavar="N", help="N generated masks per ratio bin (default 8)")
    p.add_argument("--invert-mask", action="store_true", help="mask files use black = hole")
    p.add_argument("--baselines", action="store_true", help="also score biharmonic and Telea inpainting and the mean-colour fill")
    p.add_argument("--fid", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--n-images", type=int, default=None, help="built-in test crops (default: the config's)")
    p.add_argument("--seed", type=int, default=0, help="mask bank seed")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True, help="folder for metrics.csv and metrics.json")
    args = p.parse_args(argv)

    from gdn.data import BuiltinPhotos, ImageFolder
    from gdn.masks import load_masks, mask_bank
    from gdn.metrics import format_table, rows_to_csv

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder")
    checkpoints = {}
    for item in args.checkpoint:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).parent.name or Path(item).stem, item
        checkpoints[name] = path
    configs = {name: load_checkpoint(path)["config"] for name, path in checkpoints.items()}  # fail early
    size = next(iter(configs.values())).size
    if args.images:
        images = ImageFolder(args.images, size=size)
    else:
        cfg = next(iter(configs.values()))
        images = BuiltinPhotos("test", size=size, n=args.n_images or cfg.builtin_test, seed=cfg.seed)
    masks = (load_masks(args.masks, size, invert=args.invert_mask) if args.masks
             else mask_bank(args.mask_bank or 8, size, seed=args.seed))
    fid = {"auto": "auto", "on": True, "off": False}[args.fid]
    rows = evaluate_checkpoints(checkpoints, images, masks, baselines=args.baselines, fid=fid, device=args.device)
    out.mkdir(parents=True, exist_ok=True)
    rows_to_csv(rows, out / "metrics.csv")
    meta = {"checkpoints": {k: str(v) for k, v in checkpoints.items()}, "images": args.images or "builtin",
            "masks": args.masks or f"mask_bank({args.mask_bank or 8}, seed={args.seed})", "rows": rows}
    atomic_write(out / "metrics.json", lambda f: f.write(json.dumps(meta, indent=2, default=str).encode()))
    for metric in ("l1", "psnr", "ssim"):
        print(f"\n{metric}\n" + format_table(rows, metric))
    print(f"\nwrote {out / 'metrics.csv'} and {out / 'metrics.json'}")
    return 0
