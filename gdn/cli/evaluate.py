"""``gdn evaluate --checkpoint [NAME=]CKPT ... --out DIR``: per-bin l1, PSNR, SSIM and FID (paper Table 1)."""
from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str]) -> int:
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
    p.add_argument("--baselines", action="store_true",
                   help="also score biharmonic and Telea inpainting and the mean-colour fill")
    p.add_argument("--fid", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--n-images", type=int, default=None, help="built-in test crops (default: the config's)")
    p.add_argument("--seed", type=int, default=0, help="mask bank seed")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True, help="folder for metrics.csv and metrics.json")
    args = p.parse_args(argv)
    from gdn.engine.evaluate import evaluate_to_folder
    from gdn.evaluation.protocol import format_table

    checkpoints = {}
    for item in args.checkpoint:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).parent.name or Path(item).stem, item
        checkpoints[name] = path
    rows = evaluate_to_folder(checkpoints, args.out, images=args.images, masks=args.masks,
                              per_bin=args.mask_bank or 8, invert_mask=args.invert_mask, baselines=args.baselines,
                              fid={"auto": "auto", "on": True, "off": False}[args.fid], n_images=args.n_images,
                              seed=args.seed, device=args.device)
    for metric in ("l1", "psnr", "ssim"):
        print(f"\n{metric}\n" + format_table(rows, metric))
    out = Path(args.out)
    print(f"\nwrote {out / 'metrics.csv'} and {out / 'metrics.json'}")
    return 0
