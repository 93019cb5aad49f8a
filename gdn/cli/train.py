"""``gdn train [--profile P | --config FILE] --out DIR [--steps N] [--resume] [--stop-after N] [key=value ...]``.

The same command line runs on several GPUs (or CPU processes) under ``torchrun`` (DDP)."""
from __future__ import annotations

import argparse
import json

from gdn.config import from_dict, parse_overrides, resolve


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gdn train", description="Train a framework (det, weight or adv).")
    p.add_argument("--profile", default="cpu", help="smoke | cpu | warmstart | paper (default: cpu)")
    p.add_argument("--config", help="a saved config (a run's config.json): every key, instead of a profile")
    p.add_argument("--out", required=True, help="run folder: config.json, log.csv, samples/, last.pt")
    p.add_argument("--steps", type=int, help="total steps (overrides the profile)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--stop-after", type=int, metavar="N", help="end this call after N steps, with a checkpoint "
                   "(a cluster's time limit); --resume continues where it stopped")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="any config key, e.g. framework=weight")
    args = p.parse_args(argv)
    from gdn.engine.train import train

    overrides = parse_overrides(args.overrides)
    if args.steps is not None:
        overrides["steps"] = str(args.steps)
    if args.config:
        try:
            saved = json.loads(open(args.config, encoding="utf-8").read())
        except (OSError, ValueError) as e:
            raise ValueError(f"{args.config}: cannot read the config ({e})") from None
        cfg = from_dict({**saved, **overrides})
    else:
        cfg = resolve(args.profile, overrides)
    if args.stop_after is not None and args.stop_after < 1:
        raise ValueError(f"--stop-after must be at least 1, got {args.stop_after}")
    last = train(cfg, args.out, resume=args.resume, progress=not args.quiet, stop_after=args.stop_after)
    print(f"checkpoint: {last}")
    return 0
