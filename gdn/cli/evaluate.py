"""``gdn evaluate --checkpoint [NAME=]CKPT ... --out DIR``: per-bin l1, PSNR, SSIM and FID (paper Table 1).

``--mask-strokes W`` scores on stroke masks ``W`` px wide at the checkpoint's size (the masks of the paper's Fig. 9,
:func:`gdn.mask_strokes.stroke_bank`), ``--mask-bank N`` of them per ratio bin; they are written as PNG files under
``OUT/masks/`` first, so the same masks can score any other method with ``--masks``."""
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
    p.add_argument("--mask-strokes", type=float, metavar="W",
                   help="stroke masks W px wide at the model's size (the paper's Fig. 9: 1 = one-pixel scratches), "
                        "--mask-bank N per ratio bin; written to OUT/masks/ and scored from there")
    p.add_argument("--invert-mask", action="store_true", help="mask files use black = hole")
    p.add_argument("--baselines", action="store_true",
                   help="also score biharmonic and Telea inpainting and the mean-colour fill")
    p.add_argument("--fid", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--n-images", type=int, default=None, help="built-in test crops (default: the config's)")
    p.add_argument("--seed", type=int, default=0, help="mask bank seed")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True, help="folder for metrics.csv and metrics.json")
    args = p.parse_args(argv)
    if args.mask_strokes is not None and args.masks:
        p.error("--mask-strokes draws its own masks: give it or --masks, not both")
    if args.mask_strokes is not None and args.invert_mask:
        p.error("--invert-mask reads mask files of the other polarity; --mask-strokes writes its own")
    from gdn.engine.evaluate import evaluate_to_folder
    from gdn.evaluation.protocol import format_table

    checkpoints = {}
    for item in args.checkpoint:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).parent.name or Path(item).stem, item
        checkpoints[name] = path
    masks = args.masks
    if args.mask_strokes is not None:
        from gdn.engine.checkpoint import load_checkpoint
        from gdn.mask_strokes import write_stroke_bank

        # every checkpoint is read before anything is written; the first one's size is the evaluation's
        size = [load_checkpoint(path)["config"].size for path in checkpoints.values()][0]
        folder = write_stroke_bank(Path(args.out) / "masks", args.mask_bank or 8, size, args.seed,
                                   width=args.mask_strokes)
        print(f"stroke masks {args.mask_strokes:g} px wide at {size} px: {folder}")
        masks = str(folder)
    rows = evaluate_to_folder(checkpoints, args.out, images=args.images, masks=masks,
                              per_bin=args.mask_bank or 8, invert_mask=args.invert_mask, baselines=args.baselines,
                              fid={"auto": "auto", "on": True, "off": False}[args.fid], n_images=args.n_images,
                              seed=args.seed, device=args.device)
    for metric in ("l1", "psnr", "ssim"):
        print(f"\n{metric}\n" + format_table(rows, metric))
    out = Path(args.out)
    print(f"\nwrote {out / 'metrics.csv'} and {out / 'metrics.json'}")
    return 0
