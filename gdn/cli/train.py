"""``gdn train [--profile P] --out DIR [--steps N] [--resume] [key=value ...]``."""
from __future__ import annotations

import argparse

from gdn.config import parse_overrides, resolve


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gdn train", description="Train a framework (det, weight or adv).")
    p.add_argument("--profile", default="cpu", help="smoke | cpu | warmstart | paper (default: cpu)")
    p.add_argument("--out", required=True, help="run folder: config.json, log.csv, samples/, last.pt")
    p.add_argument("--steps", type=int, help="total steps (overrides the profile)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="any config key, e.g. framework=weight")
    args = p.parse_args(argv)
    from gdn.engine.train import train

    overrides = parse_overrides(args.overrides)
    if args.steps is not None:
        overrides["steps"] = str(args.steps)
    last = train(resolve(args.profile, overrides), args.out, resume=args.resume, progress=not args.quiet)
    print(f"checkpoint: {last}")
    return 0
