"""The measurements behind the chapters: evaluating runs, the hole edge ratio (Fig. 3), the detector's maps and
their AUROC (Fig. 7), and the metric definitions compared (the Metrics chapter).

Shapes: images ``(B,3,H,W)`` float in [0,1]; masks ``(B,1,H,W)`` float {0,1}, 1 = hole; ``*8`` arrays are
``(H,W,3)`` uint8."""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from gdn.book.seeds import Seeds, over_seeds
from gdn.evaluation.scores import auroc
from gdn.device import resolve_device
from gdn.evaluation.protocol import Method, item_image
from gdn.networks import corrupt

__all__ = ["to8", "Method", "start_control", "own_controls", "FID_MISSING", "fid_status", "evaluate_runs", "batch", "predict", "composite_batch",
           "colour_cast", "Shifted", "shift_study", "edge_ratio", "detector_maps", "summarise_maps", "metric_definitions", "edge_study", "map_study",
           "definitions_study"]




FID_MISSING = "n/a: Inception weights not present"


def fid_status() -> str | None:
    """None when FID can be computed (the Inception weights are in the torch hub cache), else why not."""
    from gdn.evaluation.frechet import fid_weights_path

    return None if fid_weights_path().is_file() else FID_MISSING


def evaluate_runs(methods: Mapping[str, Method], images, masks, *, fid: bool = False, device: str = "cpu",
                  batch_size: int = 8, per_image: dict | None = None) -> list[dict]:
    """:func:`gdn.evaluation.evaluate` of several methods (name -> ``f(image, mask) -> pred``, or a
    :class:`~gdn.book.seeds.Seeds` of them), no progress bar. A seeded run's row holds the mean over its seeds
    and pairs, its interval from the two-level bootstrap (:mod:`gdn.stats`), its FID the seeds' mean, and
    ``seeds``. ``per_image`` (a dict) receives each method's per-pair scores, ``(S, N)`` for a seeded run."""
    from gdn.evaluation.protocol import bin_groups, evaluate
    from gdn.stats import bootstrap_mean

    rows_by_seed: list[list[dict]] = []

    def measure(ms: Mapping[str, Method]) -> dict:
        scores: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            rows_by_seed.append(evaluate(ms, images, masks, batch_size=batch_size, fid=fid,
                                         device=resolve_device(device), progress=False, per_image=scores))
        return scores

    scores = over_seeds(measure, dict(methods))
    if per_image is not None:
        per_image.update(scores)
    rows = rows_by_seed[0]
    n = len(rows_by_seed)
    if n == 1:
        return rows
    groups = dict(bin_groups(masks))
    for row in rows:
        name = row["method"]
        if not isinstance(methods[name], Seeds):
            continue
        sel = groups[row["bin"]]
        for k in ("l1", "psnr", "ssim"):
            ci = bootstrap_mean(scores[name][k][:, sel])
            row[k], row[f"{k}_lo"], row[f"{k}_hi"] = ci["mean"], ci["lo"], ci["hi"]
        fids = [r["fid"] for rs in rows_by_seed for r in rs if r["method"] == name and r["bin"] == row["bin"]]
        row["fid"] = None if any(f is None for f in fids) else float(np.mean(fids))
        row["seeds"] = n
    return rows


def start_control(cfg, device: str = "cpu") -> dict[str, Method]:
    """The control every framework's gain is measured from: the generator its runs start from, untrained by any
    framework. ``{"warm start": ...}`` when the runs fine-tune ``cfg.init``; from scratch, a residual generator
    outputs its training-free anchor (``{"start (anchor)": ...}``); the paper's generator from scratch has no
    meaningful start (random weights), so ``{}``."""
    from gdn.anchored import anchor_fill

    if cfg.init:
        from gdn.engine.checkpoint import resolve_init
        from gdn.engine.evaluate import load_method

        return {"warm start": load_method(resolve_init(cfg.init), device)[0]}
    anchor = anchor_fill(cfg)
    return {} if anchor is None else {"start (anchor)": anchor}


def own_controls(cfg, device: str = "cpu") -> dict[str, Method]:
    """What each framework's gain is measured over: its own start (:func:`start_control`) and, when that start
    is a warm start around a training-free anchor, the anchor too (named as in ``gdn.baselines.BASELINES``:
    ``"spline"``, ``"harmonic"``), so that a gain the anchor already made is not credited to the framework."""
    from gdn.anchored import anchor_fill
    from gdn.book.prose import anchor_name

    controls = start_control(cfg, device)
    name = anchor_name(cfg)
    if cfg.init and name is not None:
        controls[name] = anchor_fill(cfg)
    return controls


def batch(images, masks: Sequence[np.ndarray], indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask ``k`` with image ``k % len(images)`` (the pairing of :func:`gdn.evaluation.evaluate`) for ``indices``:
    image (B,3,H,W) float, mask (B,1,H,W) float."""
    n = len(images)
    image = torch.stack([item_image(images[k % n]) for k in indices])
    mask = torch.stack([torch.from_numpy(np.asarray(masks[k]) > 0.5) for k in indices])[:, None].float()
    return image, mask


def predict(method: Method, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The raw prediction of a method, (B,3,H,W) float in [0,1] on the CPU."""
    with torch.no_grad():
        return torch.as_tensor(method(image, mask)).detach().float().cpu().clamp(0, 1)


def composite_batch(method: Method, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The composite ``mask * pred + (1 - mask) * image``, quantised to 8 bits and back (what metrics see)."""
    from gdn.evaluation.scores import composite, to_uint8

    comp = composite(predict(method, image, mask), image, mask)
    return to_uint8(comp).float() / 255


def colour_cast(methods: Mapping[str, Method], images, masks: Sequence[np.ndarray], batch_size: int = 16
                ) -> dict[str, np.ndarray]:
    """Per pair and channel, the mean signed error of the 8-bit fill in the hole against the ground truth, in
    8-bit levels: name -> (N,3) array (R, G, B). A cast is a bias shared by the pairs (e.g. +R +B -G: pink)."""
    out: dict[str, list] = {name: [] for name in methods}
    for i in range(0, len(masks), batch_size):
        image, mask = batch(images, masks, range(i, min(i + batch_size, len(masks))))
        hole = mask[:, 0] > 0.5  # (B,H,W)
        truth = torch.round(image * 255)
        for name, method in methods.items():
            err = composite_batch(method, image, mask) * 255 - truth  # (B,3,H,W) in 8-bit levels
            out[name] += [err[k][:, hole[k]].mean(dim=1).numpy() if hole[k].any() else np.full(3, np.nan)
                          for k in range(len(image))]
    return {name: np.stack(v) for name, v in out.items()}


class Shifted(torch.utils.data.Dataset):
    """``images`` colour-shifted by :func:`gdn.data.colour_shift` (``kind`` in ``gdn.data.SHIFTS``; ``"none"``:
    as they are): items (3,H,W) float in [0,1]."""

    def __init__(self, images, kind: str):
        self.images, self.kind = images, kind

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        from gdn.data import colour_shift

        image = item_image(self.images[i])
        return image if self.kind == "none" else colour_shift(image[None], self.kind)[0]


def shift_study(methods: Mapping[str, Method], detector: torch.nn.Module | None, images,
                masks: Sequence[np.ndarray], detected: str = "Det") -> dict[str, dict[str, Any]]:
    """The colour-shift check: every method on ``images`` as they are and colour-shifted (``gdn.data.SHIFTS``),
    with the same masks. Returns shift -> {"psnr": name -> (N,), "cast": name -> (N,3) mean signed error in the
    holes (8-bit levels), "maps": the detector's :func:`map_study` of ``detected``'s results, of the ground truth
    and of the masked input (absent without a detector)}."""
    from gdn.data import SHIFTS

    out: dict[str, dict[str, Any]] = {}
    for kind in ("none", *SHIFTS):
        shifted = Shifted(images, kind)
        per: dict[str, Any] = {}
        evaluate_runs(methods, shifted, masks, per_image=per)
        out[kind] = {"psnr": {n: per[n]["psnr"] for n in methods}, "cast": colour_cast(methods, shifted, masks)}
        if detector is not None:
            out[kind]["maps"] = map_study(detector, {detected: methods[detected]}, shifted, masks)
    return out


def edge_ratio(image8: np.ndarray, sigma: float = 1.0, region: np.ndarray | None = None) -> float:
    """Percentage of Canny edge pixels (``skimage.feature.canny``, ``sigma`` 1.0, on the gray image), the
    measure of the paper's Fig. 3; within ``region`` ((H,W) bool) when given."""
    from skimage.color import rgb2gray
    from skimage.feature import canny

    edges = canny(rgb2gray(np.asarray(image8)), sigma=sigma)
    if region is not None:
        region = np.asarray(region, bool)
        return float(edges[region].mean() * 100) if region.any() else math.nan
    return float(edges.mean() * 100)


def detector_maps(detector: torch.nn.Module, images: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """The detector's valuation V of each image: (B,3,H,W) float -> (B,H,W) float32 in [0,1]."""
    device = next(detector.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            out.append(detector(images[i:i + batch_size].to(device)).float().cpu()[:, 0])
    return torch.cat(out).numpy().astype(np.float32)


def summarise_maps(maps: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    """How well maps (B,H,W) find the holes (B,H,W): mean per-image AUROC, its spread, and mean V inside and
    outside the holes."""
    masks = np.asarray(masks) > 0.5
    per_image = np.array([auroc(v, m) for v, m in zip(maps, masks)])
    return {"auroc": float(np.nanmean(per_image)), "auroc_std": float(np.nanstd(per_image)),
            "v_hole": float(np.mean([v[m].mean() for v, m in zip(maps, masks) if m.any()])),
            "v_valid": float(np.mean([v[~m].mean() for v, m in zip(maps, masks) if (~m).any()])),
            "per_image": per_image}


def metric_definitions(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-image scores of one set of outputs under the definitions found in the literature.

    ``pred`` is the raw prediction; everything is quantised to 8 bits first. Keys are row labels; the first
    of each group is ours (composite, RGB, l1 in %, SSIM with an 11-tap Gaussian window, sigma 1.5).
    """
    from gdn.evaluation.scores import composite, gray, l1, l1_255, l1_relative, psnr, ssim, to_uint8

    gt8 = to_uint8(image)
    comp8 = to_uint8(composite(pred, image, mask))
    raw8 = to_uint8(pred)
    g_gt, g_comp = gray(gt8), gray(comp8)
    hole = mask.bool().expand_as(image)
    diff = (comp8.double() - gt8.double()).abs() / 255
    hole_l1 = torch.stack([d[h].mean() * 100 for d, h in zip(diff, hole)]).numpy()
    return {
        "l1 (%), composite [ours]": l1(comp8, gt8),
        "l1 on the 0-255 scale": l1_255(comp8, gt8),
        "l1 relative, sum|a-b| / sum(a+b) (EdgeConnect)": l1_relative(comp8, gt8),
        "l1 (%), hole pixels only": hole_l1,
        "l1 (%), raw output (no composite)": l1(raw8, gt8),
        "PSNR (dB), composite RGB [ours]": psnr(comp8, gt8),
        "PSNR (dB), gray": psnr(g_comp, g_gt),
        "PSNR (dB), raw output": psnr(raw8, gt8),
        "SSIM, Gaussian 11, sigma 1.5, RGB [ours]": ssim(comp8, gt8),
        "SSIM, uniform 7 (scikit-image default)": ssim(comp8, gt8, win_size=7, gaussian=False),
        "SSIM, uniform 51 (official GDN / EdgeConnect code)": ssim(comp8, gt8, win_size=51, gaussian=False),
        "SSIM, Gaussian 11, gray": ssim(g_comp, g_gt),
        "SSIM, Gaussian 11, raw output": ssim(raw8, gt8),
    }


def edge_study(methods: Mapping[str, Method], images, masks: Sequence[np.ndarray], *, batch_size: int = 16,
               sigma: float = 1.0) -> dict[str, dict[str, np.ndarray]]:
    """Fig. 3's measure on a whole mask bank: per-image Canny edge ratios (%) of the ground truth and of each
    method's composite, over the whole image and inside the hole, and each composite's PSNR.
    Returns name -> {"whole", "hole", "psnr"} arrays (``"GT"`` first)."""
    from gdn.evaluation.scores import psnr, to_uint8

    out: dict[str, dict[str, list]] = {n: {"whole": [], "hole": [], "psnr": []} for n in ["GT", *methods]}
    for start in range(0, len(masks), batch_size):
        idx = list(range(start, min(start + batch_size, len(masks))))
        image, mask = batch(images, masks, idx)
        holes = mask[:, 0].numpy() > 0.5
        gt8 = to_uint8(image)
        results = {"GT": image, **{n: composite_batch(f, image, mask) for n, f in methods.items()}}
        for name, x in results.items():
            for k in range(len(idx)):
                im8 = to8(x[k])
                out[name]["whole"].append(edge_ratio(im8, sigma))
                out[name]["hole"].append(edge_ratio(im8, sigma, holes[k]))
            out[name]["psnr"] += list(np.atleast_1d(psnr(to_uint8(x), gt8)))
    return {n: {k: np.asarray(v, dtype=np.float64) for k, v in d.items()} for n, d in out.items()}


def map_study(detector: torch.nn.Module, methods: Mapping[str, Method], images, masks: Sequence[np.ndarray], *,
              examples: Sequence[int] = (), batch_size: int = 16) -> dict[str, dict[str, Any]]:
    """Fig. 7 on a whole mask bank: the detector's map V of each method's composite, of the ground truth and
    of the masked input (holes white), scored against the mask per image (AUROC, mean V in and out of holes).

    Returns name -> {"auroc", "v_hole", "v_valid": (N,) arrays, "images": [(H,W,3) uint8] and "maps":
    [(H,W) float] of the ``examples`` indices}. Names: each method, ``"Ground truth"``, ``"Masked input"``.
    """
    names = [*methods, "Ground truth", "Masked input"]
    out: dict[str, dict[str, Any]] = {n: {"auroc": [], "v_hole": [], "v_valid": [], "images": [], "maps": []}
                                      for n in names}
    wanted = {k: i for i, k in enumerate(examples)}
    shown: dict[str, dict[int, tuple]] = {n: {} for n in names}
    for start in range(0, len(masks), batch_size):
        idx = list(range(start, min(start + batch_size, len(masks))))
        image, mask = batch(images, masks, idx)
        holes = mask[:, 0].numpy() > 0.5
        inputs = {n: composite_batch(f, image, mask) for n, f in methods.items()}
        inputs["Ground truth"] = image
        inputs["Masked input"] = corrupt(image, mask)  # G's input, holes white (Sec. 3.1)
        for name, x in inputs.items():
            maps = detector_maps(detector, x, batch_size)
            s = summarise_maps(maps, holes)
            out[name]["auroc"] += list(s["per_image"])
            for v, m in zip(maps, holes):
                out[name]["v_hole"].append(float(v[m].mean()) if m.any() else math.nan)
                out[name]["v_valid"].append(float(v[~m].mean()) if (~m).any() else math.nan)
            for k, global_k in enumerate(idx):
                if global_k in wanted:
                    shown[name][wanted[global_k]] = (to8(x[k]), maps[k])
    for name in names:
        for key in ("auroc", "v_hole", "v_valid"):
            out[name][key] = np.asarray(out[name][key], dtype=np.float64)
        out[name]["images"] = [shown[name][i][0] for i in sorted(shown[name])]
        out[name]["maps"] = [shown[name][i][1] for i in sorted(shown[name])]
    return out


def definitions_study(method: Method, images, masks: Sequence[np.ndarray], batch_size: int = 16
                      ) -> dict[str, np.ndarray]:
    """:func:`metric_definitions` over a whole mask bank: label -> (N,) per-image scores."""
    per: dict[str, list] = {}
    for start in range(0, len(masks), batch_size):
        idx = list(range(start, min(start + batch_size, len(masks))))
        image, mask = batch(images, masks, idx)
        pred = predict(method, image, mask)
        for label, values in metric_definitions(pred, image, mask).items():
            per.setdefault(label, []).extend(np.atleast_1d(values).tolist())
    return {k: np.asarray(v, dtype=np.float64) for k, v in per.items()}


def to8(x: torch.Tensor) -> np.ndarray:
    """(3,H,W) float [0,1] -> (H,W,3) uint8."""
    from gdn.evaluation.scores import to_uint8

    return to_uint8(x.detach().cpu()).permute(1, 2, 0).numpy()


def fill8(method: Method, image8: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``method``'s composite of one photo: image8 (H,W,3) uint8, hole (H,W) bool -> (H,W,3) uint8."""
    image = torch.from_numpy(np.ascontiguousarray(image8)).permute(2, 0, 1).float()[None] / 255  # (1,3,H,W)
    mask = torch.from_numpy(np.asarray(hole)).float()[None, None]  # (1,1,H,W), 1 = hole
    return to8(composite_batch(method, image, mask)[0])
