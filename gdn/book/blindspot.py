"""Fig. 9 of the paper, measured: where the detector goes blind as the holes get thin.

The paper's conclusion (Sec. 5) shows in its Fig. 9 that the detector "easily captures artifacts from heavy
scratches" while it "pays more attention to semantic information instead of tiny scratches". Here the same
reading is a curve: for stroke masks of one width each (:func:`gdn.mask_strokes.stroke_mask`, widths in pixels
at the model's size, the same hole ratio at every width), the Det detector's AUROC against the mask (hole
pixels vs valid pixels, per photo) on Det's composites, on the masked input (holes white, what the generator
sees) and on the ground truth (nothing to find: 0.5), on the validation and the test photos, with 95 % bootstrap
intervals over the photos (and the seeds, :mod:`gdn.stats`). :func:`blindspot_text` reads the curve in words.

Shapes: a study is split -> width -> :func:`gdn.book.studies.map_study`'s result (``"auroc"``: ``(N,)`` or
``(S, N)`` per-photo AUROC, one stroke mask per photo; example ``"images"`` and ``"maps"``)."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from gdn.book.seeds import over_seeds
from gdn.book.studies import map_study
from gdn.mask_strokes import stroke_mask
from gdn.stats import bootstrap_mean, format_ci, ordering_sentences

__all__ = ["WIDTHS", "INPUTS", "SPLIT_NAMES", "RATIOS", "stroke_masks", "width_study", "fig9_study", "setup_text",
           "width_rows", "plot_widths", "maps_columns", "band", "blindspot_text", "blindspot_finding", "ratio_study",
           "ratio_rows", "plot_ratios", "detector_rows", "side_rows", "sides_text"]

WIDTHS = (1, 2, 4, 8, 16)  # stroke widths in px at the model's size: one-pixel scratches to heavy strokes
# what the detector looks at -> how the book names it (map_study's names; "Det": Det's composites)
INPUTS = {"Det": "Det's results", "Masked input": "the masked input", "Ground truth": "the ground truth"}
SPLIT_NAMES = {"val": "validation photos", "test": "test photos"}


def stroke_masks(n: int, size: int, width: float, ratio: float, seed) -> list[np.ndarray]:
    """``n`` stroke masks ``width`` px wide with hole ratio ``ratio`` at ``size`` px, from
    ``np.random.default_rng(seed)`` (``seed`` an int or a sequence of ints): (H,W) uint8, 1 = hole."""
    rng = np.random.default_rng(seed)
    return [stroke_mask(size, rng, width, target_ratio=ratio) for _ in range(n)]


def width_study(detector, method, images, size: int, widths: Sequence[float] = WIDTHS, *, ratio: float = 0.1,
                seed: int = 0, split: int = 0, examples: Sequence[int] = ()) -> dict[float, dict[str, Any]]:
    """For each width, one stroke mask per photo of ``images`` (drawn with seed ``(seed, split, width index)``)
    and :func:`~gdn.book.studies.map_study` of ``detector`` on ``method``'s composites (named ``"Det"``), the
    ground truth and the masked input, over the seeds (:func:`~gdn.book.seeds.over_seeds`: ``detector`` and
    ``method`` may be :class:`~gdn.book.seeds.Seeds`). Returns width -> that study, plus ``"masks"``."""
    out: dict[float, dict[str, Any]] = {}
    for i, width in enumerate(widths):
        masks = stroke_masks(len(images), size, width, ratio, (seed, split, i))
        out[width] = over_seeds(map_study, detector, {"Det": method}, images, masks, examples=examples)
        out[width]["masks"] = masks
    return out


def fig9_study(detector, method, cfg, n_images: int, widths: Sequence[float] = WIDTHS, *, ratio: float = 0.1,
               seed: int = 0, n_examples: int = 2) -> dict[str, dict[float, dict[str, Any]]]:
    """:func:`width_study` on the first ``n_images`` validation photos and the first ``n_images`` test photos
    of ``cfg`` (:func:`gdn.book.runs.test_images`; 0: all), at the model's size ``cfg.size``; the first
    ``n_examples`` test photos keep their images and maps for the side-by-side figure. split -> width -> study."""
    from gdn.book.runs import test_images

    out = {}
    for j, split in enumerate(SPLIT_NAMES):
        images = test_images(cfg, n_images, split)
        shown = range(min(n_examples, len(images))) if split == "test" else ()
        out[split] = width_study(detector, method, images, cfg.size, widths, ratio=ratio, seed=seed, split=j,
                                 examples=shown)
    return out


def setup_text(study: Mapping[str, Mapping[float, Mapping[str, Any]]], size: int) -> str:
    """What Fig. 9 measured, in words: the widths, the model's size, the masks' mean hole ratio and the photos."""
    widths = sorted({w for by_width in study.values() for w in by_width})
    listed = ", ".join(f"{w:g}" for w in widths[:-1]) + (" and " if len(widths) > 1 else "") + f"{widths[-1]:g}"
    ratio = np.mean([m.mean() for by_width in study.values() for s in by_width.values() for m in s["masks"]])
    photos = " and ".join(f"{len(next(iter(by_width.values()))['masks'])} {SPLIT_NAMES.get(split, split)}"
                          for split, by_width in study.items())
    return (f"strokes {listed} px wide at the model's {size} px, one mask per photo and width with a hole ratio of "
            f"{ratio:.2f} on average, on {photos}")


def _ci(values) -> dict[str, float]:
    return bootstrap_mean(np.asarray(values, dtype=np.float64))


def width_rows(study: Mapping[str, Mapping[float, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The table of Fig. 9: one row per split and width: the photos, the width, the mean hole ratio and each
    input's mean AUROC with its 95 % interval (``"<input>"`` text, ``"<input> mean"``, ``lo``, ``hi`` numbers)."""
    rows = []
    for split, by_width in study.items():
        for width, s in by_width.items():
            row: dict[str, Any] = {"photos": {"val": "validation"}.get(split, split), "stroke width (px)": width,
                                   "hole ratio": float(np.mean([m.mean() for m in s["masks"]])),
                                   "n": len(s["masks"])}
            for name, label in INPUTS.items():
                ci = _ci(s[name]["auroc"])
                row[f"AUROC, {label}"] = format_ci(ci, "{:.3f}")
                row[f"{label} mean"], row[f"{label} lo"], row[f"{label} hi"] = ci["mean"], ci["lo"], ci["hi"]
            rows.append(row)
    return rows


def _legend_below(fig, axes, bottom: float):
    """Fig. 9's panels finished alike: the AUROC axis label, and one legend for every panel below them (``bottom``:
    the figure's share it takes)."""
    axes[0, 0].set_ylabel("AUROC of the detector's map")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    return fig


def plot_widths(rows: Sequence[Mapping[str, Any]]):
    """Fig. 9's curve: AUROC against stroke width (log scale), one panel per split, one line per input, with
    the 95 % intervals as bars; chance (0.5) dashed."""
    import matplotlib.pyplot as plt

    splits = list(dict.fromkeys(r["photos"] for r in rows))
    fig, axes = plt.subplots(1, len(splits), figsize=(4.2 * len(splits), 3.0), squeeze=False, sharey=True)
    for ax, split in zip(axes[0], splits):
        mine = [r for r in rows if r["photos"] == split]
        widths = [r["stroke width (px)"] for r in mine]
        for k, label in enumerate(INPUTS.values()):
            mean = np.array([r[f"{label} mean"] for r in mine])
            lo = np.array([r[f"{label} lo"] for r in mine])
            hi = np.array([r[f"{label} hi"] for r in mine])
            err = np.nan_to_num(np.stack([mean - lo, hi - mean]), nan=0.0)
            ax.errorbar(widths, mean, yerr=err, marker="o", ms=4, capsize=3, color=f"C{k}", label=label)
        ax.axhline(0.5, color="0.6", lw=0.8, ls="--", label="chance")
        ax.set_xscale("log", base=2)
        ax.set_xticks(widths)
        ax.set_xticklabels([f"{w:g}" for w in widths])
        ax.set_xlabel("stroke width (px at the model's size)")
        ax.set_title(f"{split} photos", fontsize=9)
        ax.set_ylim(0.3, 1.02)
    return _legend_below(fig, axes, 0.07)


def maps_columns(by_width: Mapping[float, Mapping[str, Any]], thin: float, heavy: float) -> dict[str, list]:
    """Columns of the side-by-side figure (for :func:`gdn.book.figures.image_grid`): for the ``thin`` and the
    ``heavy`` width, the masked input, Det's composite and the detector's map of it, on the same photos."""
    cols: dict[str, list] = {}
    for width in (thin, heavy):
        s = by_width[width]
        cols[f"Input, {width:g} px"] = s["Masked input"]["images"]
        cols[f"Det, {width:g} px"] = s["Det"]["images"]
        cols[f"M(Det), {width:g} px"] = s["Det"]["maps"]
    return cols


def band(by_width: Mapping[float, Mapping[str, Any]], name: str, lo: float, hi: float) -> tuple[list, np.ndarray]:
    """The widths in ``[lo, hi]`` and, per photo (and seed), ``name``'s AUROC averaged over them: ``(S, N)`` or
    ``(N,)``, for one interval over the band (the masks of each width sit on the same photos)."""
    widths = [w for w in by_width if lo <= w <= hi]
    if not widths:
        return [], np.array([])
    return widths, np.mean([np.asarray(by_width[w][name]["auroc"], dtype=np.float64) for w in widths], axis=0)


def _thin_band(by_width: Mapping[float, Mapping[str, Any]], name: str, thin: tuple[float, float]
               ) -> tuple[list, np.ndarray]:
    """:func:`band` over ``thin``, or over the thinnest two widths when no width lies in it."""
    widths, values = band(by_width, name, *thin)
    if widths:
        return widths, values
    thinnest = sorted(by_width)[:2]
    return thinnest, band(by_width, name, thinnest[0], thinnest[-1])[1]


def _band_text(widths: Sequence[float]) -> str:
    return f"{widths[0]:g} px" if len(widths) == 1 else f"{widths[0]:g}-{widths[-1]:g} px"


def blindspot_text(study: Mapping[str, Mapping[float, Mapping[str, Any]]], thin: tuple[float, float] = (2, 4)
                   ) -> str:
    """The generated reading of Fig. 9, per split: the AUROC on Det's results and on the masked input for the
    ``thin`` band of widths (pooled per photo) and for the heaviest width; the paired verdict on the paper's
    reading (the heaviest strokes found better than the thinnest, on Det's results, over the same photos); and
    whether the ground truth is at chance, as it should be: one interval over every width (pooled per photo), so
    that five widths do not make five chances of a false alarm."""
    parts = []
    for split, by_width in study.items():
        widths = sorted(by_width)
        band_widths, band_det = _thin_band(by_width, "Det", thin)
        band_input = band(by_width, "Masked input", band_widths[0], band_widths[-1])[1]
        slim, wide = widths[0], widths[-1]
        n = len(by_width[slim]["masks"])
        text = (f"On the {SPLIT_NAMES.get(split, split)} ({n}, one stroke mask each), at {_band_text(band_widths)} "
                f"the detector finds the holes in Det's results with AUROC {format_ci(_ci(band_det), '{:.3f}')} and "
                f"in the masked input with {format_ci(_ci(band_input), '{:.3f}')}; at {wide:g} px, "
                f"{format_ci(_ci(by_width[wide]['Det']['auroc']), '{:.3f}')} on Det's results and "
                f"{format_ci(_ci(by_width[wide]['Masked input']['auroc']), '{:.3f}')} on the masked input.")
        if wide != slim:
            scores = {f"{wide:g} px strokes": by_width[wide]["Det"]["auroc"],
                      f"{slim:g} px strokes": by_width[slim]["Det"]["auroc"]}
            verdict = ordering_sentences(scores, [(f"{wide:g} px strokes", f"{slim:g} px strokes")],
                                         metric="AUROC on Det's results", unit="", fmt="{:.3f}", source="Fig. 9")
            text += " " + verdict[0]
        # the ground truth: one interval over every width (pooled per photo), not one test per width
        means = [float(np.mean(by_width[w]["Ground truth"]["auroc"])) for w in widths]
        low, high = f"{min(means):.3f}", f"{max(means):.3f}"
        truth = _ci(band(by_width, "Ground truth", slim, wide)[1])
        lead = (f" The ground truth, where there is nothing to find, gives {low if low == high else low + ' to ' + high}"
                f" by width, {format_ci(truth, '{:.3f}')} over all of them")
        if not math.isfinite(truth["lo"]):
            text += lead + " (too few photos for an interval; chance is 0.5)."
        elif truth["lo"] <= 0.5 <= truth["hi"]:
            text += lead + ": chance, as it should."
        else:
            text += (lead + ": off chance, so part of every AUROC here comes from where the map is high on any photo "
                     "and where the strokes fall, not from the holes.")
        parts.append(text)
    return " ".join(parts)


def blindspot_finding(study: Mapping[str, Mapping[float, Mapping[str, Any]]], thin: tuple[float, float] = (2, 4)
                      ) -> str:
    """Fig. 9 in one sentence, for a page's findings: on the test photos (else the first split), the detector's
    AUROC on Det's results for the ``thin`` band of widths against the heaviest width, each with its interval."""
    split = "test" if "test" in study else next(iter(study))
    by_width = study[split]
    band_widths, band_det = _thin_band(by_width, "Det", thin)
    wide = max(by_width)
    return (f"Where the detector goes blind ({SPLIT_NAMES.get(split, split)}): it finds {_band_text(band_widths)} "
            f"scratches in Det's results with AUROC {format_ci(_ci(band_det), '{:.3f}')} (0.5 is chance), "
            f"{wide:g} px strokes with {format_ci(_ci(by_width[wide]['Det']['auroc']), '{:.3f}')}.")


RATIOS = (0.05, 0.1, 0.2, 0.4)  # hole ratios of the curve against the ratio (stroke masks of one width)


def ratio_study(detector, method, images, size: int, widths: Sequence[float] = (2, 16),
                ratios: Sequence[float] = RATIOS, *, seed: int = 0) -> dict[float, dict[float, dict[str, Any]]]:
    """Fig. 9 against the hole ratio: for each of ``widths``, one stroke mask per photo at each of ``ratios``
    (seed ``(seed, 2, width index, ratio index)``) and :func:`~gdn.book.studies.map_study` as in
    :func:`width_study`. Returns width -> ratio -> that study, plus ``"masks"``."""
    out: dict[float, dict[float, dict[str, Any]]] = {}
    for i, width in enumerate(widths):
        out[width] = {}
        for j, ratio in enumerate(ratios):
            masks = stroke_masks(len(images), size, width, ratio, (seed, 2, i, j))
            out[width][ratio] = over_seeds(map_study, detector, {"Det": method}, images, masks)
            out[width][ratio]["masks"] = masks
    return out


def ratio_rows(study: Mapping[float, Mapping[float, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One row per width and ratio: the masks' mean hole ratio and each input's mean AUROC with its interval."""
    rows = []
    for width, by_ratio in study.items():
        for s in by_ratio.values():
            row: dict[str, Any] = {"stroke width (px)": width,
                                   "hole ratio": float(np.mean([m.mean() for m in s["masks"]]))}
            for name, label in INPUTS.items():
                ci = _ci(s[name]["auroc"])
                row[f"AUROC, {label}"] = format_ci(ci, "{:.3f}")
                row[f"{label} mean"] = ci["mean"]
            rows.append(row)
    return rows


def plot_ratios(rows: Sequence[Mapping[str, Any]]):
    """AUROC against the hole ratio, one panel per stroke width, one line per input; chance dashed."""
    import matplotlib.pyplot as plt

    widths = list(dict.fromkeys(r["stroke width (px)"] for r in rows))
    fig, axes = plt.subplots(1, len(widths), figsize=(3.6 * len(widths), 2.8), squeeze=False, sharey=True)
    for ax, width in zip(axes[0], widths):
        mine = [r for r in rows if r["stroke width (px)"] == width]
        for k, label in enumerate(INPUTS.values()):
            ax.plot([r["hole ratio"] for r in mine], [r[f"{label} mean"] for r in mine], marker="o", ms=4,
                    color=f"C{k}", label=label)
        ax.axhline(0.5, color="0.6", lw=0.8, ls="--", label="chance")
        ax.set_xlabel("hole ratio")
        ax.set_title(f"{width:g} px strokes", fontsize=9)
        ax.set_ylim(0.3, 1.02)
    return _legend_below(fig, axes, 0.1)


def detector_rows(runs: Mapping[str, tuple[Any, Any]], images, size: int, widths: Sequence[float] = WIDTHS, *,
                  ratio: float = 0.1, seed: int = 0) -> list[dict[str, Any]]:
    """The ablations' detectors on Fig. 9's strokes: ``runs`` maps a label to (its detector, its own generator's
    method); each detector maps its own run's results and the masked input, on the same masks as
    :func:`width_study` (split 0). One row per run: its mean AUROC per width on results / masked input."""
    rows = []
    for label, (detector, method) in runs.items():
        study = width_study(detector, method, images, size, widths, ratio=ratio, seed=seed, split=0)
        row: dict[str, Any] = {"run": label}
        for width, s in study.items():
            row[f"{width:g} px"] = (f"{np.mean(s['Det']['auroc']):.3f} / "
                                    f"{np.mean(s['Masked input']['auroc']):.3f}")
        rows.append(row)
    return rows


def side_rows(inpainter, photos: Mapping[int, Any], widths: Sequence[float] = WIDTHS, *, model_size: int,
              ratio: float = 0.1, seed: int = 0) -> list[dict[str, Any]]:
    """Fig. 9 at the sizes people use, through :class:`gdn.Inpainter` as ``gdn inpaint --artifact-map`` runs it:
    ``photos`` maps a side (px) to its photos ((3,H,W) tensors in [0,1]); each width is scaled from the model's
    size to that side (a 2 px scratch at 64 px is 8 px at 256). Per side and width: the detector's AUROC on the
    fill and on the masked input (holes white), with 95 % intervals over the photos."""
    from gdn.metrics import auroc

    rows = []
    for side, images in photos.items():
        rng = np.random.default_rng([seed, 3, side])
        for width in widths:
            on_fill, on_input = [], []
            for k in range(len(images)):
                img = (np.asarray(images[k]).transpose(1, 2, 0) * 255).round().astype(np.uint8)
                hole = stroke_mask(img.shape[:2], rng, width * side / model_size, target_ratio=ratio)
                on_fill.append(auroc(inpainter.artifact_map(inpainter.inpaint(img, hole)), hole))
                on_input.append(auroc(inpainter.artifact_map(np.where(hole[..., None] > 0, 255, img)), hole))
            rows.append({"side (px)": side, "stroke width (px at the model's size)": width,
                         "stroke width (px)": width * side / model_size, "photos": len(images),
                         "AUROC, Det's fill": format_ci(_ci(on_fill), "{:.3f}"),
                         "AUROC, the masked input": format_ci(_ci(on_input), "{:.3f}"),
                         "fill mean": float(np.mean(on_fill))})
    return rows


def sides_text(rows: Sequence[Mapping[str, Any]], thin: tuple[float, float] = (2, 4)) -> str:
    """:func:`side_rows` in one sentence: per side, the mean AUROC on Det's fill over the ``thin`` band of widths
    (at the model's size) and at the heaviest width."""
    parts = []
    for side in dict.fromkeys(r["side (px)"] for r in rows):
        mine = [r for r in rows if r["side (px)"] == side]
        band_rows = [r for r in mine if thin[0] <= r["stroke width (px at the model's size)"] <= thin[1]] or mine[:2]
        heavy = max(mine, key=lambda r: r["stroke width (px at the model's size)"])
        lo, hi = band_rows[0]["stroke width (px)"], band_rows[-1]["stroke width (px)"]
        parts.append(f"at {side} px, strokes {lo:g}-{hi:g} px wide: {np.mean([r['fill mean'] for r in band_rows]):.3f}, "
                     f"{heavy['stroke width (px)']:g} px: {heavy['fill mean']:.3f}")
    return "Through gdn.Inpainter, the detector's mean AUROC on Det's fill " + "; ".join(parts) + "."
