"""The evaluation protocol of Table 1: every method scored per mask-ratio bin on 8-bit composites, with 95 %
intervals over the image/mask pairs (:mod:`gdn.stats`), and the tidy rows written as CSV, JSON or text.

A *method* is ``f(image (B,3,H,W) float [0,1], mask (B,1,H,W) {0,1}, 1 = hole) -> pred (B,3,H,W)``: a trained
generator (:func:`gdn.engine.evaluate.generator_method`) or a training-free fill (:mod:`gdn.baselines`).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from gdn.evaluation.frechet import features, fid_from_features, resolve_fid_model
from gdn.masks import BIN_LABELS, hole_ratio, ratio_bin
from gdn.evaluation.scores import as_batch, composite, l1, psnr, ssim, to_uint8

__all__ = ["Method", "item_image", "bin_groups", "evaluate", "ROW_KEYS", "FORMATS", "rows_to_csv", "rows_to_json", "format_table"]

Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def item_image(item) -> torch.Tensor:
    """A dataset item (a tensor, an array, a ``{"image": ...}`` dict or an ``(image, ...)`` tuple) as (3,H,W) float."""
    if isinstance(item, Mapping):
        item = item["image"]
    elif isinstance(item, (tuple, list)):
        item = item[0]
    t, batched = as_batch(item)
    if batched:
        raise ValueError(f"dataset items must be single images, got a batch of shape {tuple(t.shape)}")
    return t[0].float()  # (3,H,W)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def bin_groups(masks: Sequence) -> list[tuple[str, np.ndarray]]:
    """(label, (N,) bool selection) of each mask-ratio bin (``BIN_LABELS`` in order), then ``("all", ...)``;
    a mask outside every bin counts only in ``"all"``. A :class:`gdn.mask_sets.MaskSet` brings its masks' bins
    (a published set's own); other masks are binned by their measured ratio."""
    bins = getattr(masks, "bins", None)
    if bins is None:
        ratios = [hole_ratio(np.asarray(m) > 0.5) for m in masks]
        bins = np.array([-1 if (b := ratio_bin(r)) is None else b for r in ratios])
    return [(label, bins == i) for i, label in enumerate(BIN_LABELS)] + [("all", np.ones(len(masks), bool))]


def evaluate(methods: Mapping[str, Method], images: Sequence, masks: Sequence, *, batch_size: int = 8,
             fid_model=None, fid: bool | str = "auto", device="cpu", progress: bool = True,
             per_image: dict | None = None) -> list[dict]:
    """Table 1 protocol: score each method per mask-ratio bin on 8-bit composites.

    ``methods``: name -> ``f(image (B,3,H,W) float [0,1], mask (B,1,H,W) {0,1}) -> pred (B,3,H,W)``, the raw
    prediction (composited here). Methods receive the *clean* image and must not read its hole pixels.
    ``images``: a sequence/Dataset of ``(3,H,W)`` float tensors (or dicts with ``"image"``); ``masks``: a list
    of ``(H,W)`` {0,1} arrays (e.g. ``gdn.masks.mask_bank``). Mask k is paired with image ``k % len(images)``,
    the same fixed pairing for every method ("a fixed mask order", Table 1).

    Returns one dict per method x bin (``BIN_LABELS`` in order, then ``"all"``) with keys
    ``method, bin, count, l1, psnr, ssim, fid``: means of per-image l1 (%), PSNR (dB; ``inf`` if any image is
    perfect), SSIM, and the FID of that bin's composites against its ground truths; ``l1_lo`` ... ``ssim_hi``
    bound each mean's 95 % bootstrap interval over the image/mask pairs (:func:`gdn.stats.bootstrap_mean`).
    ``per_image``, if a dict, receives name -> {"l1", "psnr", "ssim"} arrays, one score per mask, for paired
    comparisons (:func:`gdn.stats.paired_difference`). Empty bins get NaN; masks
    outside every bin count only in ``"all"``. ``fid``: NaN for fewer than 2 images, ``None`` when not computed.
    ``fid="auto"`` computes FID if ``fid_model`` is given or the Inception weights are present, else warns once;
    ``fid=True`` raises FileNotFoundError for missing weights (before any method runs); ``fid=False`` skips it.
    FID per bin: see :func:`fid_from_features` (fast below 2048 images per bin, one ``sqrtm`` above).
    """
    from tqdm import tqdm

    fid_net = resolve_fid_model(fid, fid_model, device)
    n_img, n_mask = len(images), len(masks)
    if n_img == 0 or n_mask == 0:
        raise ValueError(f"need at least one image and one mask, got {n_img} images and {n_mask} masks")
    names = list(methods)

    mask_arrays = [(np.asarray(m) > 0.5) for m in masks]

    scores = {name: {"l1": [], "psnr": [], "ssim": []} for name in names}
    fake_feats: dict[str, list[np.ndarray]] = {name: [] for name in names}
    real_feats: list[np.ndarray] = []

    starts = range(0, n_mask, batch_size)
    for start in tqdm(starts, desc="evaluate", disable=not progress):
        idx = range(start, min(start + batch_size, n_mask))
        image = torch.stack([item_image(images[k % n_img]) for k in idx])  # (b,3,H,W) float32
        mask = torch.stack([torch.from_numpy(mask_arrays[k]) for k in idx])[:, None].float()  # (b,1,H,W)
        if image.shape[-2:] != mask.shape[-2:]:
            raise ValueError(f"masks {tuple(mask.shape[-2:])} and images {tuple(image.shape[-2:])} differ in size")
        gt8 = to_uint8(image)  # (b,3,H,W) uint8
        if fid_net is not None:
            real_feats.append(features(fid_net, gt8.float() / 255, device))
        for name in names:
            with torch.no_grad():
                pred = methods[name](image.to(device), mask.to(device))
            pred = torch.as_tensor(pred).detach().float().cpu()
            if pred.shape != image.shape:
                raise ValueError(f"method {name!r} returned shape {tuple(pred.shape)}, expected {tuple(image.shape)}")
            comp8 = to_uint8(composite(pred.clamp(0, 1), image, mask))  # (b,3,H,W) uint8
            s = scores[name]
            s["l1"].append(l1(comp8, gt8))
            s["psnr"].append(psnr(comp8, gt8))
            s["ssim"].append(ssim(comp8, gt8))
            if fid_net is not None:
                fake_feats[name].append(features(fid_net, comp8.float() / 255, device))

    from gdn.stats import bootstrap_mean

    real = np.concatenate(real_feats) if real_feats else None
    groups = bin_groups(masks if hasattr(masks, "bins") else mask_arrays)  # a published set keeps its bins
    rows = []
    for name in names:
        scored = {k: np.concatenate(v) for k, v in scores[name].items()}
        if per_image is not None:
            per_image[name] = scored
        fake = np.concatenate(fake_feats[name]) if fid_net is not None else None
        for label, sel in groups:
            count = int(sel.sum())
            row: dict[str, Any] = {"method": name, "bin": label, "count": count}
            for k in ("l1", "psnr", "ssim"):
                row[k] = _mean(scored[k][sel])
                ci = bootstrap_mean(scored[k][sel])
                row[f"{k}_lo"], row[f"{k}_hi"] = ci["lo"], ci["hi"]
            if fid_net is None:
                row["fid"] = None
            elif count < 2:
                row["fid"] = math.nan
            else:
                row["fid"] = fid_from_features(real[sel], fake[sel])
            rows.append(row)
    return rows


ROW_KEYS = ("method", "bin", "count", "l1", "psnr", "ssim", "fid")


def rows_to_csv(rows: Iterable[dict], path) -> Path:
    """Write :func:`evaluate` rows as CSV (missing FID as an empty cell, inf/nan as ``inf``/``nan``)."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ROW_KEYS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def rows_to_json(rows: Iterable[dict], path) -> Path:
    """Write :func:`evaluate` rows as a JSON list; non-finite numbers use Python's ``NaN``/``Infinity``."""
    path = Path(path)
    path.write_text(json.dumps(list(rows), indent=1) + "\n")
    return path


# how each measure is printed, here and in the book's tables and sentences ("edge": Fig. 3's edge ratio in %)
FORMATS = {"l1": "{:.2f}", "psnr": "{:.2f}", "ssim": "{:.3f}", "fid": "{:.2f}", "auroc": "{:.3f}", "edge": "{:.2f}",
           "count": "{:d}"}


def format_table(rows: Sequence[dict], metric: str = "psnr", fmt: str | None = None) -> str:
    """Pivot :func:`evaluate` rows to a plain-text method x bin table of one metric (Table 1 layout)."""
    fmt = fmt or FORMATS.get(metric, "{:.4g}")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    bins = list(dict.fromkeys(r["bin"] for r in rows))
    cell = {(r["method"], r["bin"]): r.get(metric) for r in rows}

    def show(v) -> str:
        if v is None:
            return "-"
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        return fmt.format(v)

    header = [metric] + bins
    body = [[m] + [show(cell.get((m, b))) for b in bins] for m in methods]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    lines = ["  ".join(s.ljust(w) if i == 0 else s.rjust(w) for i, (s, w) in enumerate(zip(line, widths)))
             for line in [header] + body]
    return "\n".join(lines)
