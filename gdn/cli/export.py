"""``gdn export --checkpoint CKPT -o DIR [--detector | --no-detector]``."""
from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gdn export", description="Export a checkpoint's networks to ONNX "
                                "(dynamic batch, height and width), checked against PyTorch.")
    p.add_argument("--checkpoint", metavar="CKPT", required=True, help="a gdn checkpoint (.pt)")
    p.add_argument("-o", "--output", metavar="DIR", required=True,
                   help="folder for generator.onnx (and detector.onnx); created if missing")
    p.add_argument("--detector", action=argparse.BooleanOptionalAction, default=None,
                   help="require the detector (an error for weight/adv checkpoints), or skip it with "
                        "--no-detector (default: export it when the checkpoint has one)")
    args = p.parse_args(argv)
    from gdn.engine.export import export_checkpoint

    for name, diff in export_checkpoint(args.checkpoint, args.output, args.detector).items():
        print(f"wrote {Path(args.output) / name} (max |onnxruntime - torch| = {diff:.1e})")
    return 0
