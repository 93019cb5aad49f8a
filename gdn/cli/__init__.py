"""The ``gdn`` command: train, evaluate, inpaint, export, bench, book, demo.

Every failure a user can cause (bad paths, bad config keys, bad images, broken checkpoints) ends with one
line on stderr naming the file or key and the problem, and a non-zero exit; tracebacks are for bugs.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, FileExistsError, RuntimeError,
                                                 OSError)


def cmd_train(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gdn train", description="Train a framework (det, weight or adv).")
    p.add_argument("--profile", default="cpu", help="smoke | cpu | paper (default: cpu)")
    p.add_argument("--out", required=True, help="run folder: config.json, log.csv, samples/, last.pt")
    p.add_argument("--steps", type=int, help="total steps (overrides the profile)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="any config key, e.g. framework=weight")
    args = p.parse_args(argv)
    from gdn.config import parse_overrides, resolve
    from gdn.engine.train import train

    overrides = parse_overrides(args.overrides)
    if args.steps is not None:
        overrides["steps"] = str(args.steps)
    cfg = resolve(args.profile, overrides)
    last = train(cfg, args.out, resume=args.resume, progress=not args.quiet)
    print(f"checkpoint: {last}")
    return 0


def _lazy(module: str, func: str):
    def run(argv: list[str]) -> int:
        import importlib
        return getattr(importlib.import_module(f"gdn.{module}"), func)(argv)
    return run


COMMANDS = {
    "train": cmd_train,
    "evaluate": _lazy("engine.evaluate", "main_evaluate"),
    "inpaint": _lazy("engine.inference", "main_inpaint"),
    "export": _lazy("engine.export", "main_export"),
    "bench": _lazy("engine.bench", "main_bench"),
    "book": _lazy("book.runner", "main_book"),
    "demo": _lazy("demo.widget", "main_demo"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: gdn {" + ",".join(COMMANDS) + "} [options]   (gdn COMMAND --help for each)",
              file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"gdn: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    try:
        return COMMANDS[argv[0]](argv[1:]) or 0
    except KeyboardInterrupt:
        print("gdn: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"gdn {argv[0]}: error: {message}", file=sys.stderr)
        return 2

