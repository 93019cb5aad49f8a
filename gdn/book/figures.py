"""The book's figures: training curves, the detector's AUROC during training, per-bin plots and image grids
(GT, masked input, each method's composite; artifact maps in the paper's ``jet`` colours)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from gdn.book.runs import dose_response
from gdn.book.studies import Method, composite_batch, to8
from gdn.book.tables import METRIC_NAMES
from gdn.masks import BIN_LABELS, mask_bank_bins
from gdn.networks import corrupt

__all__ = ["plot_log", "plot_auroc", "plot_dose_response", "plot_warm_start", "plot_bins", "image_grid", "example_columns", "columns_text", "pick",
           "bin_labels"]


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


def plot_dose_response(panels: Mapping[str, Mapping[str, Sequence[Sequence[Mapping[str, float]]]]],
                       keys: Mapping[str, str], marks: Mapping[str, float] | None = None):
    """Validation scores against training steps, one panel per ``panels`` entry (title -> run label -> the
    ``read_log`` rows of each seed) showing ``keys[title]`` (a log column): each run's mean over seeds, with a
    band from the lowest to the highest seed. ``marks``: labelled vertical lines (e.g. where the generator stops)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.0), squeeze=False)
    for ax, (title, runs) in zip(axes[0], panels.items()):
        for i, (label, logs) in enumerate(runs.items()):
            curve = dose_response(logs, keys[title])
            if not len(curve["step"]):
                continue
            v = curve["values"]
            n = v.shape[0]
            ax.plot(curve["step"], v.mean(0), color=f"C{i}", marker=".", label=f"{label} ({n} seed{'s' * (n > 1)})")
            if n > 1:
                ax.fill_between(curve["step"], v.min(0), v.max(0), color=f"C{i}", alpha=0.2, lw=0)
        for text, step in (marks or {}).items():
            ax.axvline(step, color="0.6", lw=0.8, ls=":")
            ax.annotate(text, (step, 1), xycoords=("data", "axes fraction"), fontsize=7, ha="right", va="top",
                        rotation=90)
        if keys[title] == "val_auroc":
            ax.axhline(0.5, color="0.6", lw=0.8, ls="--")
        ax.set_xlabel("training step")
        ax.set_ylabel({"val_psnr": "validation PSNR (dB)", "val_auroc": "validation AUROC"}.get(keys[title],
                                                                                                keys[title]))
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


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
    ax.set_ylabel(METRIC_NAMES.get(metric, metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncols=2)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def image_grid(columns: Mapping[str, Sequence[np.ndarray]], row_labels: Sequence[str] | None = None,
               cell: float = 1.45, cmap_columns: Sequence[str] = (), stretch: bool = False, *,
               shared: bool = False, colorbar: str = ""):
    """A grid figure: one column per entry of ``columns`` (title -> list of (H,W,3) uint8 or (H,W) float
    maps), one row per example. Columns named in ``cmap_columns`` are (H,W) maps in [0,1] drawn with ``jet``
    (red = artifact, blue = clean, as the paper's Fig. 7), on the absolute 0..1 scale or, with ``stretch``,
    each map from its own minimum (blue) to its maximum (red); with ``stretch`` and ``shared``, every map of the
    figure on one scale, from the lowest value of any of them to the highest (maps stay comparable, and a
    narrow range stays visible). ``colorbar``: the label of a colour bar beside the grid giving that scale
    (with per-map stretch its ends read "own min" and "own max")."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    titles = list(columns)
    n_rows = max(len(v) for v in columns.values())
    bar = 1.0 if colorbar else 0.0  # inches on the right for the colour bar and its label
    width = cell * len(titles) + bar
    fig, axes = plt.subplots(n_rows, len(titles), figsize=(width, cell * n_rows + 0.3), squeeze=False)
    maps = [np.asarray(m, dtype=float) for c in cmap_columns if c in columns for m in columns[c]]
    lo, hi = 0.0, 1.0  # the absolute scale of a probability; with stretch and shared, the joint range
    if stretch and shared and maps:
        lo, hi = float(min(np.nanmin(m) for m in maps)), float(max(np.nanmax(m) for m in maps))
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
                    a, b = (float(items[i].min()), float(items[i].max())) if stretch and not shared else (lo, hi)
                    ax.imshow(items[i], cmap="jet", vmin=a, vmax=max(b, a + 1e-6), interpolation="nearest")
                else:
                    ax.imshow(items[i], interpolation="nearest")
            if i == 0:
                ax.set_title(title, fontsize=9)
            if j == 0 and row_labels is not None and i < len(row_labels):
                ax.set_ylabel(row_labels[i], fontsize=8)
    if not bar:
        fig.tight_layout(pad=0.3)
        return fig
    fig.tight_layout(pad=0.3, rect=(0, 0, 1 - bar / width, 1))
    top, bottom = axes[0, -1].get_position().y1, axes[-1, -1].get_position().y0
    cax = fig.add_axes((1 - 0.85 * bar / width, bottom, 0.12 / width, top - bottom))
    cax.set_label("colorbar")
    per_map = stretch and not shared
    scale = Normalize(0.0, 1.0) if per_map else Normalize(lo, max(hi, lo + 1e-6))
    cb = fig.colorbar(ScalarMappable(norm=scale, cmap="jet"), cax=cax)
    if per_map:
        cb.set_ticks([0.0, 1.0], labels=["own min", "own max"])
    cb.ax.tick_params(labelsize=7)
    cb.set_label(colorbar, fontsize=8)
    return fig


def example_columns(methods: Mapping[str, Method], image: torch.Tensor, mask: torch.Tensor,
                    gt: bool = True) -> dict[str, list[np.ndarray]]:
    """Columns of an example figure: GT, the masked input, then each method's composite."""
    cols: dict[str, list[np.ndarray]] = {}
    if gt:
        cols["GT"] = [to8(x) for x in image]
    cols["Input"] = [to8(corrupt(x, m)) for x, m in zip(image, mask)]  # holes white (Sec. 3.1)
    for name, method in methods.items():
        cols[name] = [to8(x) for x in composite_batch(method, image, mask)]
    return cols


def columns_text(cols: Mapping[str, Any]) -> str:
    """The columns of an example figure (:func:`example_columns`), left to right, for its caption:
    ``"11 columns, left to right: ground truth, masked input, biharmonic, ..."``."""
    names = {"GT": "ground truth", "Input": "masked input"}
    return f"{len(cols)} columns, left to right: " + ", ".join(names.get(c, c) for c in cols)


def pick(masks: Sequence[np.ndarray], bins: Sequence[int], per: int = 1, offset: int = 0) -> list[int]:
    """Indices of up to ``per`` masks of each bin in ``bins`` (skipping the first ``offset`` of each)."""
    b = mask_bank_bins(masks)
    out = []
    for want in bins:
        idx = np.flatnonzero(b == want)
        if len(idx):
            out += [int(i) for i in idx[offset:offset + per]] or [int(idx[-1])]
    return out


def bin_labels(masks: Sequence[np.ndarray], indices: Sequence[int]) -> list[str]:
    """The mask-ratio bin of each ``masks[k]``, k in ``indices`` (e.g. from :func:`pick`), as Table 1 writes it:
    the row labels of an :func:`image_grid`."""
    return [BIN_LABELS[b] for b in mask_bank_bins([masks[k] for k in indices])]


def tint_holes(image8: np.ndarray, hole: np.ndarray, colour=(255, 0, 0), alpha: float = 0.5) -> np.ndarray:
    """A photo with its hole drawn over it: image8 (H,W,3) uint8, hole (H,W) bool -> (H,W,3) uint8."""
    out = image8.copy()
    out[hole] = np.rint((1 - alpha) * out[hole] + alpha * np.array(colour, np.float32)).astype(np.uint8)
    return out
