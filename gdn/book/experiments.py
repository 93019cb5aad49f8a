"""The logic behind the book's experiment notebooks (``notebooks/*.ipynb``), so that they stay thin.

Each notebook loads the training runs it needs (``runs/<profile>/<run>/last.pt``), evaluates them on the
built-in test photos (or the config's ``test_data``) with a fixed mask bank, and hands figures and tables to
:class:`gdn.book.report.Report`. Everything here is plain functions of tensors, arrays and paths.

Shapes: images ``(B,3,H,W)`` float in [0,1]; masks ``(B,1,H,W)`` float {0,1}, 1 = hole; ``*8`` arrays are
``(H,W,3)`` uint8.
"""
from __future__ import annotations

import csv
import json
import math
import shutil
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from gdn.masks import BIN_LABELS, hole_ratio, mask_bank, ratio_bin
from gdn.metrics import auroc

__all__ = [
    "run_dir", "train_run", "read_log", "last_samples", "plot_log", "config_rows", "load_run", "test_images", "eval_bank",
    "fid_status", "evaluate_runs", "metric_table", "ablation_table", "batch", "predict", "composite_batch",
    "to8", "corrupted8", "image_grid", "edge_ratio", "auroc", "plot_auroc", "orderings", "with_ci", "warm_start",
    "plot_warm_start", "detector_maps", "summarise_maps",
    "metric_definitions", "column_formats", "setup_text", "bins_of", "photo", "polygon_mask", "text_overlay", "scratches", "Method",
]

Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
FID_MISSING = "n/a: Inception weights not present"


# ----------------------------------------------------------------------------------------------- training

def run_dir(profile: str, run: str, root: str | Path = "runs") -> Path:
    """Where ``gdn book`` keeps a training run: ``runs/<profile>/<run>``."""
    return Path(root) / profile / run


def train_run(profile: str, run: str, overrides: Mapping[str, Any], root: str | Path = "runs") -> dict[str, Any]:
    """Train one run from scratch into ``runs/<profile>/<run>`` and return its config, folder and summary.

    ``gdn book`` only executes a training notebook when its notebook, parameters or code changed, so an old
    run in that folder is stale: it is deleted first (``gdn.engine.train.train`` refuses to overwrite a run).
    """
    from gdn.config import resolve
    from gdn.engine.train import train

    cfg = resolve(profile, {k: v for k, v in overrides.items() if v is not None})
    out = run_dir(profile, run, root)
    if out.exists():
        shutil.rmtree(out)
    train(cfg, out, progress=False)
    summary = json.loads((out / "summary.json").read_text())
    return {"config": cfg, "out": out, "summary": summary, "log": read_log(out)}


def read_log(out: str | Path) -> list[dict[str, float]]:
    """``log.csv`` of a run as rows of floats (empty cells dropped)."""
    with open(Path(out) / "log.csv", newline="") as f:
        return _float_rows(f)


def _float_rows(lines) -> list[dict[str, float]]:
    # CSV lines of a training log (a file or a list of strings) -> rows of floats, empty cells dropped
    return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(lines)]


def last_samples(out: str | Path) -> np.ndarray | None:
    """The latest sample grid a run saved (``samples/step_*.png``) as (H,W,3) uint8, or None."""
    from PIL import Image

    grids = sorted((Path(out) / "samples").glob("step_*.png"))
    return np.asarray(Image.open(grids[-1]).convert("RGB")) if grids else None


def plot_log(rows: Sequence[Mapping[str, float]], title: str = ""):
    """Training curves: generator and critic losses and the raw L1 against the step."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
    steps = [r["step"] for r in rows]
    for key, label in (("loss_g", "generator loss"), ("l1", "L1 of the raw output")):
        if rows and key in rows[0]:
            axes[0].plot(steps, [r[key] for r in rows], label=label)
    axes[0].set_xlabel("step")
    axes[0].legend(fontsize=8)
    if rows and "loss_d" in rows[0]:
        axes[1].plot(steps, [r["loss_d"] for r in rows], color="C3", label="detector / discriminator loss")
        axes[1].legend(fontsize=8)
    else:
        axes[1].text(0.5, 0.5, "no critic (Weight framework)", ha="center", va="center")
    axes[1].set_xlabel("step")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_auroc(runs: Mapping[str, Sequence[Mapping[str, float]]], title: str = ""):
    """The min-max game over training: the detector's validation AUROC (how well its map of the composites
    finds the holes; 0.5 is chance) against the step, one line per run (name -> ``read_log`` rows)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 2.8))
    for name, rows in runs.items():
        pts = [(r["step"], r["val_auroc"]) for r in rows if "val_auroc" in r]
        if pts:
            ax.plot(*zip(*pts), marker=".", label=name)
    ax.axhline(0.5, color="0.6", lw=0.8, ls="--", label="chance")
    ax.set_xlabel("step")
    ax.set_ylabel("validation AUROC")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def warm_start(cfg) -> dict[str, Any] | None:
    """What a run started from: the JSON beside its ``init`` checkpoint (config, log rows, summary, commit;
    written by :func:`gdn.engine.checkpoint.pack_generator`) plus ``"path"``, or None for a random start."""
    from gdn.engine.checkpoint import resolve_init

    if not cfg.init:
        return None
    path = resolve_init(cfg.init)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    meta["log"] = _float_rows(meta.get("log_csv", []))
    meta["path"] = str(path)
    return meta


def plot_warm_start(meta: Mapping[str, Any] | None):
    """The warm start's validation PSNR against the step (from its packed log); a note for a random start."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 2.6))
    if meta is None:
        ax.text(0.5, 0.5, "random start: no warm start in this profile", ha="center", va="center")
        ax.set_axis_off()
        return fig
    pts = [(r["step"], r["val_psnr"]) for r in meta.get("log", []) if "val_psnr" in r]
    if pts:
        ax.plot(*zip(*pts), marker=".")
    ax.set_xlabel("step")
    ax.set_ylabel("validation PSNR (dB)")
    ax.set_title(f"warm start: {Path(meta.get('path', '')).name}", fontsize=10)
    fig.tight_layout()
    return fig


CONFIG_KEYS = ("framework", "detector_loss", "gamma", "weight_mapping", "exp_base", "hole_weight", "adv_weight",
               "init", "critic_warmup", "width", "res_blocks", "norm", "size", "batch_size", "steps", "lr", "d_lr",
               "beta1", "beta2", "seed", "train_data", "augment", "builtin_train", "device", "precision")


def config_rows(cfg, keys: Sequence[str] = CONFIG_KEYS) -> list[dict[str, Any]]:
    """The config keys that define a run, beside the paper's defaults."""
    from gdn.config import Config

    paper = Config()
    return [{"key": k, "value": getattr(cfg, k), "paper default": getattr(paper, k)} for k in keys]


# --------------------------------------------------------------------------------------------- evaluation

def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is there, else ``"cpu"``; other names are checked."""
    from gdn.engine.train import select_device

    return str(select_device(device))


def run_summary(profile: str, run: str, root: str | Path = "runs") -> dict[str, Any]:
    """``summary.json`` of a finished run (steps, framework, val_psnr, train_seconds)."""
    return json.loads((run_dir(profile, run, root) / "summary.json").read_text())


def load_run(profile: str, run: str, root: str | Path = "runs", device: str = "cpu"):
    """(generator method, critic or None, config) of ``runs/<profile>/<run>/last.pt``."""
    from gdn.engine.checkpoint import build_networks, load_checkpoint
    from gdn.engine.evaluate import generator_method

    device = resolve_device(device)
    path = run_dir(profile, run, root) / "last.pt"
    ckpt = load_checkpoint(path)
    generator, critic = build_networks(ckpt, path)
    if critic is not None:
        critic = critic.to(device).eval()
    return generator_method(generator, device), critic, ckpt["config"]


def test_images(cfg, n_images: int = 0):
    """The config's test images (built-in test photos or ``test_data``), the first ``n_images`` if > 0."""
    from torch.utils.data import Subset

    from gdn.engine.train import build_test_images

    images = build_test_images(cfg)
    if n_images and n_images < len(images):
        images = Subset(images, range(n_images))
    return images


def eval_bank(per_bin: int, size: int, seed: int = 0) -> list[np.ndarray]:
    """The fixed evaluation masks: ``per_bin`` masks in each of Table 1's bins, bin by bin."""
    return mask_bank(per_bin, size, seed=seed)


def fid_status() -> str | None:
    """None when FID can be computed (the Inception weights are in the torch hub cache), else why not."""
    from gdn.metrics import fid_weights_path

    return None if fid_weights_path().is_file() else FID_MISSING


def evaluate_runs(methods: Mapping[str, Method], images, masks, *, fid: bool = False, device: str = "cpu",
                  batch_size: int = 8, per_image: dict | None = None) -> list[dict]:
    """:func:`gdn.metrics.evaluate` of several methods (name -> ``f(image, mask) -> pred``), no progress bar.
    ``per_image`` (a dict) receives each method's per-pair scores for :func:`orderings`."""
    from gdn.metrics import evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return evaluate(methods, images, masks, batch_size=batch_size, fid=fid, device=resolve_device(device),
                        progress=False, per_image=per_image)


_CLAIM_UNITS = {"psnr": ("PSNR", "dB", "{:.2f}"), "ssim": ("SSIM", "", "{:.3f}"), "l1": ("l1", "%", "{:.2f}"),
                "auroc": ("AUROC", "", "{:.3f}"), "edge": ("hole edge ratio", "%", "{:.2f}")}


def orderings(scores: Mapping[str, Any], claims: Sequence[tuple[str, str]], metric: str = "psnr", *,
              source: str = "the paper") -> str:
    """Generated sentences on orderings: for each ``(better, worse)`` claim, the paired difference of the
    per-pair scores (``scores[name][metric]`` or ``scores[name]`` itself), its 95 % bootstrap interval and
    whether the claim holds, reverses or is within noise (:func:`gdn.stats.compare_sentence`)."""
    from gdn.stats import ordering_sentences

    label, unit, fmt = _CLAIM_UNITS.get(metric, (metric, "", "{:.3f}"))
    values = {name: v[metric] if isinstance(v, Mapping) else v for name, v in scores.items()}
    return " ".join(ordering_sentences(values, claims, metric=label, unit=unit, fmt=fmt, source=source))


_METRIC_NAMES = {"l1": "l1 (%) ↓", "psnr": "PSNR (dB) ↑", "ssim": "SSIM ↑", "fid": "FID ↓"}
FORMATS = {"l1": "{:.2f}", "psnr": "{:.2f}", "ssim": "{:.3f}", "fid": "{:.2f}", "auroc": "{:.3f}"}


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
    ``metric_hi`` of an :func:`gdn.metrics.evaluate` row); the bare value when there is no interval."""
    value, lo, hi = row.get(metric), row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if value is None or lo is None or hi is None or not all(map(math.isfinite, (value, lo, hi))):
        return math.nan if value is None else value
    fmt = FORMATS.get(metric, "{:.3g}")
    return f"{fmt.format(value)} ±{fmt.format((hi - lo) / 2)}"


def metric_table(rows: Sequence[Mapping], metrics: Sequence[str], methods: Sequence[str], *,
                 paper: Mapping[str, Mapping[str, Sequence[float]]] | None = None) -> list[dict[str, Any]]:
    """Table 1 layout: one row per (metric, method), one column per bin and ``all``; the paper's rows
    (metric -> dataset -> six bins) follow ours, labelled ``Paper: Ours (<dataset>)``. The first row counts
    the masks of each bin."""
    cell = {(r["method"], r["bin"]): r for r in rows}
    first = methods[0]
    out = [{"metric": "masks", "method": "count",
            **{b: cell[(first, b)]["count"] for b in [*BIN_LABELS, "all"] if (first, b) in cell}}]
    for metric in metrics:
        label = _METRIC_NAMES.get(metric, metric)
        for m in methods:
            row = {"metric": label, "method": m, "_fmt": FORMATS.get(metric)}
            for b in [*BIN_LABELS, "all"]:
                r = cell.get((m, b))
                v = None if r is None else r.get(metric)
                row[b] = math.nan if v is None else with_ci(r, metric)
            out.append(row)
        for dataset, values in (paper or {}).get(metric, {}).items():
            row = {"metric": label, "method": f"Paper: Ours ({dataset})", "_fmt": FORMATS.get(metric)}
            row.update(dict(zip(BIN_LABELS, values)))
            row["all"] = None
            out.append(row)
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


def plot_bins(rows: Sequence[Mapping], metric: str, methods: Sequence[str],
              paper: Mapping[str, Sequence[float]] | None = None, title: str = ""):
    """One metric against the mask-ratio bin, a line per method; ``paper`` (label -> six values) dashed."""
    import matplotlib.pyplot as plt

    cell = {(r["method"], r["bin"]): r.get(metric) for r in rows}
    x = np.arange(len(BIN_LABELS))
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for m in methods:
        ys = [cell.get((m, b)) for b in BIN_LABELS]
        ax.plot(x, [math.nan if y is None else y for y in ys], marker="o", label=m)
    for label, values in (paper or {}).items():
        ax.plot(x, values, linestyle="--", color="gray", alpha=0.7, label=label)
    ax.set_xticks(x, BIN_LABELS, fontsize=8)
    ax.set_xlabel("mask ratio")
    ax.set_ylabel(_METRIC_NAMES.get(metric, metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncols=2)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------ outputs

def pick(masks: Sequence[np.ndarray], bins: Sequence[int], per: int = 1, offset: int = 0) -> list[int]:
    """Indices of up to ``per`` masks of each bin in ``bins`` (skipping the first ``offset`` of each)."""
    b = bins_of(masks)
    out = []
    for want in bins:
        idx = np.flatnonzero(b == want)
        if len(idx):
            out += [int(i) for i in idx[offset:offset + per]] or [int(idx[-1])]
    return out


def example_columns(methods: Mapping[str, Method], image: torch.Tensor, mask: torch.Tensor,
                    gt: bool = True) -> dict[str, list[np.ndarray]]:
    """Columns of an example figure: GT, the masked input, then each method's composite."""
    cols: dict[str, list[np.ndarray]] = {}
    if gt:
        cols["GT"] = [to8(x) for x in image]
    cols["Input"] = [corrupted8(x, m) for x, m in zip(image, mask)]
    for name, method in methods.items():
        cols[name] = [to8(x) for x in composite_batch(method, image, mask)]
    return cols

def batch(images, masks: Sequence[np.ndarray], indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask ``k`` with image ``k % len(images)`` (the pairing of :func:`gdn.metrics.evaluate`) for ``indices``:
    image (B,3,H,W) float, mask (B,1,H,W) float."""
    n = len(images)
    image = torch.stack([_image(images[k % n]) for k in indices])
    mask = torch.stack([torch.from_numpy(np.asarray(masks[k]) > 0.5) for k in indices])[:, None].float()
    return image, mask


def _image(item) -> torch.Tensor:
    if isinstance(item, Mapping):
        item = item["image"]
    return torch.as_tensor(item).float()


def predict(method: Method, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The raw prediction of a method, (B,3,H,W) float in [0,1] on the CPU."""
    with torch.no_grad():
        return torch.as_tensor(method(image, mask)).detach().float().cpu().clamp(0, 1)


def composite_batch(method: Method, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The composite ``mask * pred + (1 - mask) * image``, quantised to 8 bits and back (what metrics see)."""
    from gdn.metrics import composite, to_uint8

    comp = composite(predict(method, image, mask), image, mask)
    return to_uint8(comp).float() / 255


def to8(x: torch.Tensor) -> np.ndarray:
    """(3,H,W) float [0,1] -> (H,W,3) uint8."""
    from gdn.metrics import to_uint8

    return to_uint8(x.detach().cpu()).permute(1, 2, 0).numpy()


def corrupted8(image: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """The network's input as a picture: holes white (paper Sec. 3.1). image (3,H,W), mask (1,H,W)."""
    return to8(image * (1 - mask) + mask)


def image_grid(columns: Mapping[str, Sequence[np.ndarray]], row_labels: Sequence[str] | None = None,
               cell: float = 1.45, cmap_columns: Sequence[str] = (), stretch: bool = False):
    """A grid figure: one column per entry of ``columns`` (title -> list of (H,W,3) uint8 or (H,W) float
    maps), one row per example. Columns named in ``cmap_columns`` are (H,W) maps in [0,1] drawn with ``jet``
    (red = artifact, blue = clean, as the paper's Fig. 7), on the absolute 0..1 scale or, with ``stretch``,
    each map from its own minimum (blue) to its maximum (red)."""
    import matplotlib.pyplot as plt

    titles = list(columns)
    n_rows = max(len(v) for v in columns.values())
    fig, axes = plt.subplots(n_rows, len(titles), figsize=(cell * len(titles), cell * n_rows + 0.3),
                             squeeze=False)
    for j, title in enumerate(titles):
        for i in range(n_rows):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            items = columns[title]
            if i < len(items):
                if title in cmap_columns:
                    lo, hi = (float(items[i].min()), float(items[i].max())) if stretch else (0.0, 1.0)
                    ax.imshow(items[i], cmap="jet", vmin=lo, vmax=max(hi, lo + 1e-6), interpolation="nearest")
                else:
                    ax.imshow(items[i], interpolation="nearest")
            if i == 0:
                ax.set_title(title, fontsize=9)
            if j == 0 and row_labels is not None and i < len(row_labels):
                ax.set_ylabel(row_labels[i], fontsize=8)
    fig.tight_layout(pad=0.3)
    return fig


# ------------------------------------------------------------------------------------- image statistics

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
    from gdn.metrics import composite, gray, l1, l1_255, l1_relative, psnr, ssim, to_uint8

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


def bins_of(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Bin index of each mask (-1 outside every bin)."""
    return np.array([-1 if (b := ratio_bin(hole_ratio(m))) is None else b for m in masks])


# ----------------------------------------------------------------------------------------- applications

def photo(name: str, size: int) -> np.ndarray:
    """A bundled scikit-image photo, centre-cropped to a square and resized to ``size``: (H,W,3) uint8."""
    from gdn.data import _photo, to_square

    return to_square(_photo(name), size)


def polygon_mask(size: int, points: Sequence[tuple[float, float]], grow: int = 1) -> np.ndarray:
    """A hand-drawn hole: the polygon through ``points`` (x, y as fractions of the side), dilated by ``grow``
    px: (size,size) bool."""
    from PIL import Image, ImageDraw
    from scipy import ndimage

    canvas = Image.new("L", (size, size), 0)
    ImageDraw.Draw(canvas).polygon([(x * size, y * size) for x, y in points], fill=255)
    hole = np.asarray(canvas) > 0
    return ndimage.binary_dilation(hole, iterations=grow) if grow else hole


def text_overlay(image8: np.ndarray, lines: Sequence[str], *, colour=(255, 230, 40), grow: int = 1,
                 font_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Render ``lines`` of text onto a photo with PIL; the hole is the rendered glyphs, dilated by ``grow``
    px. Returns (image with text (H,W,3) uint8, hole (H,W) bool)."""
    from PIL import Image, ImageDraw, ImageFont
    from scipy import ndimage

    h, w = image8.shape[:2]
    size = font_size or max(8, h // 9)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    ink = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(ink)
    step = h / (len(lines) + 1)
    for i, line in enumerate(lines):
        draw.text((w * 0.06, step * (i + 0.6)), line, fill=255, font=font)
    alpha = np.asarray(ink, dtype=np.float32)[..., None] / 255
    out = np.rint(image8 * (1 - alpha) + np.asarray(colour, np.float32) * alpha).astype(np.uint8)
    hole = np.asarray(ink) > 0
    return out, (ndimage.binary_dilation(hole, iterations=grow) if grow else hole)


def scratches(image8: np.ndarray, rng: np.random.Generator, n: int = 6, width: tuple[int, int] = (1, 2)
              ) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic scratches of an old photo: ``n`` thin, bright, slightly curved strokes. Returns (scratched
    (H,W,3) uint8, hole (H,W) bool = the strokes)."""
    from PIL import Image, ImageDraw

    h, w = image8.shape[:2]
    ink = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(ink)
    for _ in range(n):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        angle = rng.uniform(0, math.pi)
        length = rng.uniform(0.3, 0.9) * max(h, w)
        bend = rng.uniform(-0.15, 0.15) * length
        pts = []
        for t in np.linspace(0, 1, 24):
            px = x0 + math.cos(angle) * length * (t - 0.5) - math.sin(angle) * bend * 4 * t * (1 - t)
            py = y0 + math.sin(angle) * length * (t - 0.5) + math.cos(angle) * bend * 4 * t * (1 - t)
            pts.append((px, py))
        draw.line(pts, fill=int(rng.integers(200, 256)), width=int(rng.integers(width[0], width[1] + 1)))
    level = np.asarray(ink, dtype=np.float32)[..., None]
    hole = level[..., 0] > 0
    out = np.where(hole[..., None], np.maximum(image8, level), image8).astype(np.uint8)
    return out, hole


def setup_text(profile: str, cfg, n_images: int, n_masks: int, per_bin: int, mask_seed: int) -> str:
    """One sentence that says which profile, data and budget produced a page's numbers."""
    from gdn.data import TEST_PHOTOS, TRAIN_PHOTOS

    if cfg.train_data == "builtin":
        train = (f"random {cfg.size} x {cfg.size} crops of {len(TRAIN_PHOTOS)} built-in photos (scikit-image's "
                 f"and matplotlib's)")
    else:
        train = f"{cfg.train_data} at {cfg.size} x {cfg.size}"
    if cfg.test_data == "builtin":
        test = f"{n_images} crops of the {len(TEST_PHOTOS)} built-in test photos ({', '.join(TEST_PHOTOS)})"
    else:
        test = f"{n_images} images of {cfg.test_data}"
    steps = f"{cfg.steps} generator steps" if cfg.steps else f"{cfg.epochs} epochs"
    start = f" from the warm start {cfg.init}" if cfg.init else ""
    if cfg.critic_warmup or cfg.critic_cooldown:
        start += (f" (Det and Adv also train their critic alone for {cfg.critic_warmup} steps before and "
                  f"{cfg.critic_cooldown} after)")
    comparable = ("" if cfg.train_data != "builtin" and cfg.size == 256 else
                  " The paper trains 100 epochs at 256 x 256 on CelebA-HQ, Places2 and Paris StreetView and "
                  "tests on 12k masks, so these numbers are not comparable with its tables in absolute terms; "
                  "compare the trends.")
    norm = "" if cfg.norm == "instance" else ", no instance norm"
    return (f"Profile {profile}: generator width {cfg.width} with {cfg.res_blocks} residual blocks{norm}, trained for "
            f"{steps} of batch {cfg.batch_size} on {train}{start}; evaluated on {test} with {n_masks} free-form masks "
            f"({per_bin} per mask-ratio bin, seed {mask_seed}).{comparable}")


# ------------------------------------------------------------------------------------------ experiments

def edge_study(methods: Mapping[str, Method], images, masks: Sequence[np.ndarray], *, batch_size: int = 16,
               sigma: float = 1.0) -> dict[str, dict[str, np.ndarray]]:
    """Fig. 3's measure on a whole mask bank: per-image Canny edge ratios (%) of the ground truth and of each
    method's composite, over the whole image and inside the hole, and each composite's PSNR.
    Returns name -> {"whole", "hole", "psnr"} arrays (``"GT"`` first)."""
    from gdn.metrics import psnr, to_uint8

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
        inputs["Masked input"] = image * (1 - mask) + mask
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


def map_table(study: Mapping[str, Mapping[str, Any]], masks: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """Rows of :func:`map_study`: mean AUROC (and its spread), mean V in and out of the holes, AUROC per bin."""
    from gdn.stats import bootstrap_mean, format_ci

    b = bins_of(masks)
    rows = []
    for name, s in study.items():
        row = {"detector input": name, "AUROC": float(np.nanmean(s["auroc"])),
               "AUROC 95 % interval": format_ci(bootstrap_mean(s["auroc"]), "{:.3f}"),
               "AUROC std": float(np.nanstd(s["auroc"])), "mean V in holes": float(np.nanmean(s["v_hole"])),
               "mean V outside": float(np.nanmean(s["v_valid"]))}
        for i, label in enumerate(BIN_LABELS):
            sel = s["auroc"][b == i]
            row[f"AUROC {label}"] = float(np.nanmean(sel)) if len(sel) else math.nan
        rows.append(row)
    return rows


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


def definitions_table(per_image: Mapping[str, np.ndarray], masks: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """One row per definition: mean per bin and over all masks, and the change against our definition of
    the same quantity in the same unit (l1 in %, PSNR in dB, SSIM)."""
    b = bins_of(masks)
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
