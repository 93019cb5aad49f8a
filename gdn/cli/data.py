"""``gdn data split DATASET ROOT -o OUT`` and ``gdn data masks DIR``: the paper's data protocol (Sec. 4.1)."""
from __future__ import annotations

import argparse
from pathlib import Path

from gdn.config import parse_overrides


def _counts(items: list[str]) -> dict[str, int]:
    counts = parse_overrides(items)
    bad = [f"{k}={v}" for k, v in counts.items() if not v.strip().isdigit()]
    if bad:
        raise ValueError(f"--count {bad[0]!r}: expected KEY=N, e.g. test=100")
    return {k: int(v) for k, v in counts.items()}


def main(argv: list[str]) -> int:
    from gdn.splits import DATASETS, PROTOCOLS

    p = argparse.ArgumentParser(prog="gdn data", description="The paper's data protocol: file lists of the "
                                "training, validation and test splits, and a check of Liu et al.'s test masks.")
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("split", help="write train.txt, val.txt, test.txt and manifest.json for a download",
                       description="Draw the paper's splits (Sec. 4.1) from a download with a fixed seed. "
                       "Protocols: " + "; ".join(f"{d}: " + ", ".join(f"{k}={v}" for k, v in PROTOCOLS[d].items())
                                                 for d in DATASETS))
    s.add_argument("dataset", choices=DATASETS)
    s.add_argument("root", help="the download: CelebA-HQ's image folder; Places365-Standard's folder (with "
                   "categories_places365.txt, places365_val.txt, data_256/ and val_256/); Paris StreetView's folder "
                   "(with paris_train_original/ and paris_eval_gt/)")
    s.add_argument("-o", "--out", required=True, help="folder for the lists and the manifest")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--categories", default="", help="Places2: comma-separated categories, e.g. a/airfield,b/beach "
                   "(default: 30 drawn with the seed, recorded in the manifest)")
    s.add_argument("--count", action="append", default=[], metavar="KEY=N",
                   help="change one of the protocol's numbers (a rehearsal on a small stand-in); recorded as a deviation")
    s.add_argument("--force", action="store_true", help="replace lists already in OUT")
    m = sub.add_parser("masks", help="check Liu et al.'s 12k test masks: count, polarity, bins, border halves")
    m.add_argument("folder")
    args = p.parse_args(argv)
    if args.what == "split":
        from gdn.splits import make_splits

        categories = [c.strip() for c in args.categories.split(",") if c.strip()]
        splits = make_splits(args.dataset, args.root, args.out, seed=args.seed, counts=_counts(args.count),
                             categories=categories, force=args.force)
        counts = ", ".join(f"{name} {len(files):,}" for name, files in splits.lists.items())
        print(f"{args.dataset}: {counts} (seed {splits.seed}); wrote {args.out}/train.txt, val.txt, test.txt and "
              "manifest.json")
        for d in splits.deviations:
            print(f"  deviation from the paper's protocol: {d}")
        lists = Path(args.out).resolve()
        print(f"train with: gdn book --profile paper train_data={lists}/train.txt val_data={lists}/val.txt "
              f"test_data={lists}/test.txt")
        return 0
    from gdn.mask_sets import liu_test_masks

    bins = liu_test_masks(args.folder)
    print(f"{args.folder}: 12,000 masks, holes {'black' if bins[0].invert else 'white'}")
    print(f"{'bin':12s} {'hole ratio (native size)':>26s} {'reach the border frame: constrained / free half':>50s}")
    for b in bins:
        print(f"{b.label:12s} {b.ratio_range[0]:12.3f} .. {b.ratio_range[1]:.3f} "
              f"{b.touching[0]:30.0%} / {b.touching[1]:.0%}")
    return 0
