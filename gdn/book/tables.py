"""The book's tables and generated sentences: values with 95 % intervals, the paper's layouts (Table 1, Table 2,
the config beside the paper's). The verdicts on the paper's orderings are :mod:`gdn.book.verdicts`."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from gdn.book.prose import colour_cast_text, dose_text  # noqa: F401 (re-exported)
from gdn.evaluation.protocol import FORMATS
from gdn.masks import BIN_LABELS, mask_bank_bins

__all__ = ["auroc_training_text", "warm_start_text", "config_rows", "data_rows", "column_formats", "with_ci", "paper_rows", "metric_table", "metric_tables", "ablation_table", "setup_text", "setup_facts", "map_table",
           "definitions_table", "shift_tables", "SHIFT_LABELS"]


def config_rows(cfg) -> list[dict[str, Any]]:
    """How a run differs from the paper: every config key whose value differs from ``Config()`` (the paper's),
    with its reason from ``gdn.config.WHY`` (engine settings marked as such), then the data handling
    (:func:`data_rows`)."""
    from gdn.config import ENGINE, WHY, Config

    paper = Config()
    rows = []
    for key, value in cfg.to_dict().items():
        if value != getattr(paper, key) and key not in ("test_masks", "test_mask_border"):  # data_rows' job
            why = "an engine setting: speed, logging or files, not the method" if key in ENGINE else WHY[key]
            rows.append({"key": key, "value": value, "paper": getattr(paper, key), "why": why})
    return rows + data_rows(cfg)


def data_rows(cfg) -> list[dict[str, Any]]:
    """The data and mask handling that differs from the paper's whatever the config says."""
    rows = []
    if cfg.test_masks == "generated":
        rows.append({"key": "(test masks)", "value": "generated: gdn.masks.mask_bank, a fixed number per ratio bin",
                     "paper": "the 12k irregular masks of Liu et al.",
                     "why": "nothing is downloaded; the config's test_masks reads them from a folder"})
    elif cfg.test_mask_border != "both":
        rows.append({"key": "(test masks)", "value": f"Liu et al.'s, only those {cfg.test_mask_border} the border "
                     "constraint", "paper": "all 12k", "why": "the user's choice (test_mask_border)"})
    if cfg.train_data == "builtin":
        rows.append({"key": "(training images)", "value": "random square crops (35-100 % of the short side) of "
                     "the built-in photos, flipped half the time, resized", "paper": "whole images resized",
                     "why": "15 photos give thousands of different crops"})
    else:
        rows.append({"key": "(training images)", "value": "centre-cropped to a square, then resized",
                     "paper": "resized whole (the official code)", "why": "a square photo without distortion"})
    return rows


def ci_note(seeds: int = 1, over: str = "the bin's image/mask pairs") -> str:
    """The note under a table of means: what its intervals are over (the pairs, and the seeds when several)."""
    seeded = f" and the {seeds} seeds of each run (two-level bootstrap)" if seeds > 1 else ""
    return f"mean ±half-width of its 95 % bootstrap interval over {over}{seeded}"


METRIC_NAMES = {"l1": "l1 (%) ↓", "psnr": "PSNR (dB) ↑", "ssim": "SSIM ↑", "fid": "FID ↓"}


def column_formats(columns: Sequence[str]) -> dict[str, str]:
    """Formats for columns named after a metric (``"PSNR (0.1,0.2]"`` -> two decimals, SSIM three)."""
    out = {}
    for c in columns:
        head = str(c).split(" ")[0].lower()
        if head in FORMATS:
            out[c] = FORMATS[head]
    return out


def with_ci(row: Mapping[str, Any], metric: str) -> Any:
    """A cell ``"18.52 ±0.41"``: the mean and half the width of its 95 % bootstrap interval (``metric_lo`` and
    ``metric_hi`` of an :func:`gdn.evaluation.evaluate` row); the bare value when there is no interval."""
    value, lo, hi = row.get(metric), row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if value is None or lo is None or hi is None or not all(map(math.isfinite, (value, lo, hi))):
        return math.nan if value is None else value
    fmt = FORMATS.get(metric, "{:.3g}")
    return f"{fmt.format(value)} ±{fmt.format((hi - lo) / 2)}"


def paper_rows(metric: str, paper: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
               others: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]] | None = None) -> list[dict[str, Any]]:
    """The paper's rows of one metric in :func:`metric_table`'s layout, six bins and no ``all``: its *Ours* rows
    (``paper``: metric -> dataset -> six bins, ``gdn.paper.TABLE1_OURS``), labelled ``Paper: Ours (<dataset>)``,
    then its reference methods' (``others``: method -> metric -> dataset -> six bins, ``gdn.paper.TABLE1_OTHERS``),
    labelled ``Paper: PConv (<dataset>)`` and so on: the paper's numbers on its data, not rerun here."""
    label = METRIC_NAMES.get(metric, metric)
    sources = [("Ours", (paper or {}).get(metric, {}))]
    sources += [(name, by_metric.get(metric, {})) for name, by_metric in (others or {}).items()]
    out = []
    for name, by_dataset in sources:
        for dataset, values in by_dataset.items():
            out.append({"metric": label, "method": f"Paper: {name} ({dataset})", "_fmt": FORMATS.get(metric),
                        **dict(zip(BIN_LABELS, values)), "all": None})
    return out


def metric_table(rows: Sequence[Mapping], metrics: Sequence[str], methods: Sequence[str], *,
                 paper: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                 others: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]] | None = None) -> list[dict[str, Any]]:
    """Table 1 layout: one row per (metric, method), one column per bin and ``all``; the paper's rows
    (:func:`paper_rows`: its *Ours* rows, then the reference methods of ``others``) follow ours. The first row
    counts the masks of each bin."""
    cell = {(r["method"], r["bin"]): r for r in rows}
    first = methods[0]
    out = [{"metric": "masks", "method": "count",
            **{b: cell[(first, b)]["count"] for b in [*BIN_LABELS, "all"] if (first, b) in cell}}]
    for metric in metrics:
        label = METRIC_NAMES.get(metric, metric)
        for m in methods:
            row = {"metric": label, "method": m, "_fmt": FORMATS.get(metric)}
            for b in [*BIN_LABELS, "all"]:
                r = cell.get((m, b))
                v = None if r is None else r.get(metric)
                row[b] = math.nan if v is None else with_ci(r, metric)
            out.append(row)
        out += paper_rows(metric, paper, others)
    return out


def metric_tables(rows: Sequence[Mapping], metrics: Sequence[str], methods: Sequence[str], *,
                  paper: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                  others: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]] | None = None
                  ) -> dict[str, list[dict[str, Any]]]:
    """Table 1 as one narrow table per metric (what fits a page): methods as rows, bins as columns, the paper's
    rows last; a metric nobody scored (FID without its weights) is left out, for the text to say so in one line."""
    out = {}
    for metric in metrics:
        table = [{k: v for k, v in r.items() if k != "metric"}
                 for r in metric_table(rows, [metric], methods, paper=paper, others=others)]
        if any(isinstance(v, str) or (isinstance(v, float) and math.isfinite(v))
               for r in table[1:] if not r["method"].startswith("Paper") for b, v in r.items() if b in BIN_LABELS):
            out[metric] = table
    return out


def ablation_table(rows: Sequence[Mapping], methods: Mapping[str, str],
                   paper: Mapping[str, Mapping[str, Sequence[float]]] | None = None) -> list[dict[str, Any]]:
    """Table 2 layout: one row per detector loss, PSNR and SSIM per bin; ``methods`` maps our method names
    to the paper's keys (``"ce"``, ``"bce"``, ``"focal"``); the paper's rows follow."""
    cell = {(r["method"], r["bin"]): r for r in rows}
    out = []
    for name in methods:
        row: dict[str, Any] = {"loss": name}
        for b in [*BIN_LABELS, "all"]:
            r = cell.get((name, b), {})
            row[f"PSNR {b}"] = with_ci(r, "psnr") if r else math.nan
            row[f"SSIM {b}"] = with_ci(r, "ssim") if r else math.nan
        out.append(row)
    for name, key in methods.items():
        if paper and key in paper:
            row = {"loss": f"Paper: {name} (CelebA-HQ)"}
            for i, b in enumerate(BIN_LABELS):
                row[f"PSNR {b}"] = paper[key]["psnr"][i]
                row[f"SSIM {b}"] = paper[key]["ssim"][i]
            row["PSNR all"] = row["SSIM all"] = None
            out.append(row)
    return out


def setup_facts(profile: str, cfg, n_images: int, n_masks: int, per_bin: int, mask_seed: int,
                split: str = "test", seeds: int = 1) -> list[tuple[str, str]]:
    """What produced a page's numbers, as (label, fact) pairs for a list a reader can scan: the profile and its
    networks, the training, the evaluation data and masks, the three photo sets, the seeds, and how the numbers
    stand to the paper's."""
    from gdn.data import TEST_PHOTOS, TRAIN_PHOTOS, VAL_PHOTOS

    if cfg.train_data == "builtin":
        train = (f"random {cfg.size} x {cfg.size} crops of {len(TRAIN_PHOTOS)} built-in photos (scikit-image's "
                 f"and matplotlib's)")
    else:
        train = f"{cfg.train_data} at {cfg.size} x {cfg.size}"
    val = (f"the {len(VAL_PHOTOS)} validation photos ({', '.join(VAL_PHOTOS)}, scikit-learn's)"
           if cfg.val_data == "builtin" else cfg.val_data)
    if split == "val":
        test = f"{n_images} crops of {val}" if cfg.val_data == "builtin" else f"{n_images} images of {cfg.val_data}"
    elif cfg.test_data == "builtin":
        test = f"{n_images} crops of the {len(TEST_PHOTOS)} built-in test photos ({', '.join(TEST_PHOTOS)})"
    else:
        test = f"{n_images} images of {cfg.test_data}"
    steps = f"{cfg.steps} generator steps" if cfg.steps else f"{cfg.epochs} epochs"
    start = (f" from the warm start {cfg.init}" if cfg.init else
             " from scratch (random weights; a residual generator then outputs its training-free anchor)"
             if cfg.colour_anchor != "none" else " from scratch")
    alone = [f"{n} steps {when}" for n, when in ((cfg.critic_warmup, "before"), (cfg.critic_cooldown, "after")) if n]
    if alone:
        start += f" (Det and Adv also train their critic alone for {' and '.join(alone)})"
    if cfg.cooldown_init:
        start += f"; Det's cool-down starts from the trained detector {cfg.cooldown_init}"
    from gdn.book.plan import seeds_text

    norm = "" if cfg.norm == "instance" else ", no instance norm"
    anchor = "" if cfg.colour_anchor == "none" else f", residual around a training-free fill ({cfg.colour_anchor})"
    seeded = (f"{seeds} per run (initial weights and data order); every interval holds the seeds' variance and the "
              f"pairs' (two-level bootstrap); a figure of results shows the first seed" if seeds > 1 else
              f"one per run, so intervals hold the pairs' variance only, not the seeds' (the study profile, "
              f"`make book PROFILE=study`, trains {seeds_text('study')})")
    liu = cfg.test_masks != "generated" and split == "test"
    if liu:
        half = {"both": "both halves", "with": "the half with the border constraint",
                "without": "the half without the border constraint"}[cfg.test_mask_border]
        masks = (f"Liu et al.'s test masks ({half} of each bin, their published bins, in their fixed order), every "
                 f"one of the {n_images} test images in every bin: {n_masks} pairs")
    else:
        masks = f"{n_masks} free-form masks ({per_bin} per mask-ratio bin, seed {mask_seed})"
    paper_scale = cfg.train_data != "builtin" and cfg.size == 256 and cfg.width == 64 and cfg.res_blocks == 8
    if paper_scale and liu:
        paper = ("the paper's protocol: its networks at 256 x 256, its test masks on the whole test set; comparable "
                 "with its rows if the lists are its dataset's (`gdn data split`), the run as long as its 100 epochs and "
                 "the training masks QD-IMD's (`train_masks=qdimd:DIR`); still different: a single seed per run, our "
                 "own draw of the splits and, for Places2, of the 30 categories")
    elif paper_scale:
        paper = ("the paper's networks and resolution, but generated test masks (set `test_masks` to Liu et al.'s "
                 "12k masks to score as the paper does)")
    else:
        paper = ("not comparable in absolute terms: the paper trains 100 epochs at 256 x 256 on CelebA-HQ, Places2 and "
                 "Paris StreetView and tests on 12k masks; compare the trends")
    return [("Profile", f"{profile}: generator width {cfg.width}, {cfg.res_blocks} residual blocks{norm}{anchor}"),
            ("Training", f"{steps} of batch {cfg.batch_size} on {train}{start}"),
            ("Evaluated on", f"{test}, with {masks}"),
            ("Photo sets", f"training, validation ({val}: in-training checks and every recipe choice) and test "
                           f"(read only by the book's final evaluation), disjoint"),
            ("Seeds", seeded),
            ("Against the paper", f"{paper}; every deviation, with why, is in the Training chapter's table")]


def setup_text(profile: str, cfg, n_images: int, n_masks: int, per_bin: int, mask_seed: int,
               split: str = "test", seeds: int = 1) -> str:
    """:func:`setup_facts` as one paragraph (the record a page's numbers file keeps)."""
    facts = setup_facts(profile, cfg, n_images, n_masks, per_bin, mask_seed, split, seeds)
    return " ".join(f"{label}: {fact}." for label, fact in facts)


def map_table(study: Mapping[str, Mapping[str, Any]], masks: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """Rows of :func:`map_study`: mean AUROC (and its spread), mean V in and out of the holes, AUROC per bin."""
    from gdn.stats import bootstrap_mean, format_ci

    b = mask_bank_bins(masks)
    rows = []
    for name, s in study.items():
        row = {"detector input": name, "AUROC": float(np.nanmean(s["auroc"])),
               "AUROC 95 % interval": format_ci(bootstrap_mean(s["auroc"]), "{:.3f}"),
               "AUROC std": float(np.nanstd(s["auroc"])), "mean V in holes": float(np.nanmean(s["v_hole"])),
               "mean V outside": float(np.nanmean(s["v_valid"]))}
        for i, label in enumerate(BIN_LABELS):
            sel = s["auroc"][..., b == i]  # (N,) or (S,N) per-image AUROC -> this bin's
            row[f"AUROC {label}"] = float(np.nanmean(sel)) if sel.size else math.nan
        rows.append(row)
    return rows


def definitions_table(per_image: Mapping[str, np.ndarray], masks: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """One row per definition: mean per bin and over all masks, and the change against our definition of
    the same quantity in the same unit (l1 in %, PSNR in dB, SSIM)."""
    b = mask_bank_bins(masks)
    ours = {"l1 (%)": "l1 (%), composite [ours]", "PSNR": "PSNR (dB), composite RGB [ours]",
            "SSIM": "SSIM, Gaussian 11, sigma 1.5, RGB [ours]"}
    rows = []
    for label, values in per_image.items():
        finite = np.where(np.isfinite(values), values, np.nan)
        row: dict[str, Any] = {"definition": label}
        for i, bin_label in enumerate(BIN_LABELS):
            sel = finite[b == i]
            row[bin_label] = float(np.nanmean(sel)) if len(sel) else math.nan
        row["all"] = float(np.nanmean(finite))
        base = next((ours[p] for p in ours if label.startswith(p)), None)
        row["change vs ours (all)"] = (None if base is None or base == label else
                                       row["all"] - float(np.nanmean(np.where(np.isfinite(per_image[base]),
                                                                              per_image[base], np.nan))))
        row["_fmt"] = "{:.4f}" if label.startswith(("SSIM", "l1 relative")) else "{:.2f}"
        rows.append(row)
    return rows


def auroc_training_text(logs: Mapping[str, Sequence[Mapping[str, float]]], cfg) -> str:
    """What the validation-AUROC curves of the Det runs show (Fig. 7): the det run's AUROC after the detector's
    head start, while both networks train and in the cool-down, then every run's final value."""
    curve = [(r["step"], r["val_auroc"]) for r in logs.get("det", []) if "val_auroc" in r]
    if not curve:
        return "This profile logs no validation AUROC during training (eval_every = 0)."
    warmup = cfg.critic_warmup
    joint_end = warmup + cfg.steps  # the generator trains in (warmup, joint_end]; then the cool-down
    before = [a for s, a in curve if s <= warmup]
    joint = [a for s, a in curve if warmup < s <= joint_end]
    cool = [a for s, a in curve if s > joint_end]
    if before and warmup:
        text = (f"In the det run the detector's validation AUROC went from {curve[0][1]:.2f} at step "
                f"{curve[0][0]:.0f} to {before[-1]:.2f} at the end of its {warmup}-step head start")
    else:
        text = f"In the det run the detector's validation AUROC started at {curve[0][1]:.2f}"
    if joint:
        text += (f"; while both networks trained it ranged from {min(joint):.2f} to {max(joint):.2f} and ended at "
                 f"{joint[-1]:.2f}")
    if cool:
        text += (f"; in the {cfg.critic_cooldown}-step cool-down against the final generator it ranged from "
                 f"{min(cool):.2f} to {max(cool):.2f} and ended at {cool[-1]:.2f}")
    every = int(curve[1][0] - curve[0][0]) if len(curve) > 1 else 0
    text += f" (validation batch of the training run, evaluated every {every} steps)."
    finals = {run: [r["val_auroc"] for r in rows if "val_auroc" in r] for run, rows in logs.items()}
    finals = {run: v[-1] for run, v in finals.items() if v}
    if finals:
        text += " Final validation AUROC per Det run: " + ", ".join(f"{run} {v:.2f}" for run, v in finals.items()) + "."
    return text


def warm_start_text(meta: Mapping[str, Any] | None, cfg) -> str:
    """Where a run started (the Training chapter): random weights, or the warm start's steps, time and commit."""
    if meta is None:
        return f"this run started from random weights (seed {cfg.seed})."
    s = meta.get("summary", {})
    return (f"{meta.get('step')} steps, {s.get('train_seconds', float('nan')):.0f} s of training, final validation "
            f"PSNR {s.get('val_psnr', float('nan')):.2f} dB; trained at commit {meta.get('git_commit') or 'unknown'}.")


SHIFT_LABELS = {"none": "the photos", "hue+90": "hue rotated 90 degrees", "bgr": "channels reversed (BGR)"}


def shift_tables(study: Mapping[str, Mapping[str, Any]]) -> tuple[list[dict], list[dict], list[dict]]:
    """Rows of :func:`gdn.book.studies.shift_study`: PSNR per method and set, the fill's mean signed error per
    channel and set, and the detector's AUROC per set; every value a mean with its 95 % interval over the pairs
    (and the seeds, for arrays stacked by :func:`gdn.book.seeds.over_seeds`)."""
    from gdn.stats import bootstrap_mean, format_ci

    kinds = list(study)
    names = list(study[kinds[0]]["psnr"])
    psnr_rows = [{"method": n, **{SHIFT_LABELS.get(k, k): format_ci(bootstrap_mean(study[k]["psnr"][n]))
                                  for k in kinds}} for n in names]
    cast_rows = [{"method": n, "set": SHIFT_LABELS.get(k, k),
                  **{ch: format_ci(bootstrap_mean(study[k]["cast"][n][..., c]), "{:.1f}", signed=True)
                     for c, ch in enumerate(("R", "G", "B"))},
                  "largest |bias|": float(np.abs(np.nanmean(study[k]["cast"][n].reshape(-1, 3), axis=0)).max())}
                 for n in names for k in kinds]
    map_rows = [{"set": SHIFT_LABELS.get(k, k),
                 **{f"AUROC, {inp}": format_ci(bootstrap_mean(m["auroc"]), "{:.3f}") for inp, m in study[k]["maps"].items()}}
                for k in kinds if "maps" in study[k]]
    return psnr_rows, cast_rows, map_rows
