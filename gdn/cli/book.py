"""``gdn book [--profile P] [--data LISTS --test-masks DIR --train-masks DIR] [--gpus LIST | --ddp N]
[--param STEP.NAME=VALUE ...] [--list | --plan] [key=value ...]``.

Every input the book reads is checked before its first training (:mod:`gdn.book.preflight`); each problem is one
``gdn book: error:`` line on stderr, all of them together, and nothing is run or written. ``--plan`` prints what
the book would do (the checks, every step run or reused, each training's steps, images and checkpoints, the time
from a short probe of this machine or the recorded GPU rates, and the disk) and runs nothing."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gdn.config import parse_overrides


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gdn book", description="Run the book's notebooks (papermill, reusing "
                                "unchanged runs) and build it with jupyter-book into WORKDIR/_build/html.")
    p.add_argument("--profile", default="cpu", help="smoke | cpu | study | paper (default: cpu)")
    p.add_argument("--seeds", type=int, metavar="N", help="train every run with N seeds (default: the profile's: "
                                                         "1; the study 3, and 5 for its Det, Weight and Adv runs)")
    p.add_argument("--workdir", help="build in this folder (copies _config.yml, _toc.yml, book/, notebooks/ "
                                     "there; runs/ and figures/ land there); default: the repository root")
    p.add_argument("--param", "-p", action="append", default=[], metavar="[STEP.]NAME=VALUE",
                   help="set a notebook parameter (checked against its parameters cell), e.g. table1.per_bin=32")
    p.add_argument("--force", action="store_true", help="re-run every notebook")
    p.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="trainings run side by side, sharing the CPU cores (default: one per core on a CPU, "
                        "1 on a GPU)")
    p.add_argument("--data", metavar="LISTS", help="a folder written by `gdn data split`: its train.txt, val.txt "
                   "and test.txt become train_data, val_data and test_data (checked against its manifest)")
    p.add_argument("--test-masks", metavar="DIR", help="Liu et al.'s 12k test masks: every test image in every bin "
                   "(test_masks=DIR)")
    p.add_argument("--train-masks", metavar="DIR", help="QD-IMD's drawings, processed on the fly "
                   "(train_masks=qdimd:DIR)")
    p.add_argument("--gpus", metavar="LIST", help="several GPUs: place the trainings one per GPU side by side, "
                   "on these (e.g. 0,1,2,3; default: every visible GPU when the trainings run on CUDA)")
    p.add_argument("--ddp", type=int, default=0, metavar="N", help="several GPUs: train each run in turn with N DDP "
                   "processes (torchrun, one per GPU) instead of placing runs side by side")
    p.add_argument("--no-build", action="store_true", help="run the notebooks but do not build the HTML")
    p.add_argument("--list", action="store_true", help="print the plan (steps, parameters) and exit")
    p.add_argument("--plan", action="store_true", help="check every input and print what the book would do: the "
                   "runs and notebooks (run or reused), steps and images per run, the time (from a short probe of "
                   "this machine, or the recorded GPU rates) and the disk; runs nothing (exit 2 on a problem)")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="training config keys for every training run, e.g. device=cuda train_data=/data")
    args = p.parse_intermixed_args(argv)  # options and key=value overrides in any order (make book ARGS=...)
    from gdn.book.preflight import PreflightError
    from gdn.book.runner import apply_params, check_parameters, plan, prepare_book, run_book, source_root

    overrides = parse_overrides(args.overrides)
    if args.data:  # the lists are checked against their manifest with every other input, before anything runs
        lists = Path(args.data).resolve()
        overrides.update({f"{name}_data": str(lists / f"{name}.txt") for name in ("train", "val", "test")})
    if args.test_masks:
        overrides["test_masks"] = str(Path(args.test_masks).resolve())
    if args.train_masks:
        overrides["train_masks"] = "qdimd:" + str(Path(args.train_masks).resolve())
    if args.list:
        notebooks = source_root() / "notebooks"
        steps = plan(args.profile, overrides, seeds=args.seeds)
        apply_params(steps, args.param, notebooks)
        check_parameters(steps, notebooks)
        for s in steps:
            deps = f"  after {', '.join(s.deps)}" if s.deps else ""
            print(f"{s.name:16s} notebooks/{s.notebook:22s} {json.dumps(s.params, default=str)}{deps}")
        return 0
    options = dict(workdir=args.workdir, params=args.param, overrides=overrides, force=args.force, jobs=args.jobs,
                   seeds=args.seeds, gpus=args.gpus.split(",") if args.gpus else None, ddp=args.ddp, data=args.data)
    if args.plan:
        from gdn.book.costs import estimate, plan_text

        prep = prepare_book(args.profile, **options)
        est = estimate(prep, build=not args.no_build, say=lambda text: print(text, file=sys.stderr, flush=True))
        print(plan_text(prep, est, build=not args.no_build))
        return _problems(prep.checks.problems)
    try:
        run_book(args.profile, build=not args.no_build, **options)
    except PreflightError as e:
        return _problems(e.problems)
    return 0


def _problems(problems: list[str]) -> int:
    """Each problem as its own ``gdn book: error:`` line on stderr (exit 2), all of them; 0 when there is none."""
    for problem in problems:
        print(f"gdn book: error: {problem}", file=sys.stderr)
    return 2 if problems else 0
