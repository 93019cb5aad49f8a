"""The size study of the Generalisation chapter: the validation photos at the model's size, in 256 px crops and
whole (their native 427 x 640, never upsampled), each filled through :class:`~gdn.engine.inference.Inpainter` as
a user's photo would be, with and without per-photo learning, against the training-free fills at full
resolution (the best of them is the bar); and the time per photo from 64 to 2048 px.

Pairs are ``(image (1,3,H,W) float in [0,1], hole (H,W) bool)``; scores are per pair, so every difference is paired."""
from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from gdn.baselines import biharmonic, harmonic, spline
from gdn.engine.inference import Inpainter
from gdn.engine.photobench import ADAPT_SIDES, SIDES, photo_times
from gdn.evaluation.scores import auroc, psnr
from gdn.stats import format_ci, paired_difference, verdict

__all__ = ["SIZES", "FREE", "ADAPT_SIDES", "BOOK_ADAPT_SIDES", "AnchorNet", "size_pairs", "size_study", "best_free", "size_table", "size_text", "size_finding",
           "time_sizes"]

SIZES = {"model": "the model's size", "256": "256 px crops", "whole": "whole photos"}
FREE = ("spline", "harmonic", "biharmonic")  # the training-free fills, each at the photo's full resolution
FREE_FILLS = {"spline": spline, "harmonic": harmonic, "biharmonic": biharmonic}
HOLDS = -0.05  # dB: "holds" the best training-free fill when the interval's lower bound is at least this


class AnchorNet(nn.Module):
    """A training-free fill in the place of a generator (a stand-in for tests and timings): through an
    :class:`Inpainter` it is the fill itself at the working scale, its correction zero."""

    def __init__(self, fill: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        super().__init__()
        self.fill = fill

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.fill(image, mask)


def size_pairs(images, masks, per_bin: int, mask_seed: int) -> dict[str, list[tuple[torch.Tensor, np.ndarray]]]:
    """The three sets: the chapter's own pairs at the model's size (``images``, ``masks``), 256 px crops of the
    validation photos at their native scale (half the masks per bin), and the whole photos (a quarter)."""
    from gdn.data import SPLITS, BuiltinPhotos, photo, to_tensor
    from gdn.engine.loader import VAL_SEED
    from gdn.masks import mask_bank

    def pairs(imgs, ms):
        return [(imgs[i % len(imgs)][None], np.asarray(m) > 0) for i, m in enumerate(ms)]

    names = SPLITS["val"]
    whole = [to_tensor(photo(n)) for n in names]  # (3,427,640) each
    side = min(min(t.shape[-2:]) for t in whole)
    crops = BuiltinPhotos("val", 256, n=6 * math.ceil(per_bin / 2), seed=VAL_SEED, scale=(256 / side, 256 / side))
    return {"model": pairs(images, masks),
            "256": pairs(crops, mask_bank(math.ceil(per_bin / 2), 256, seed=mask_seed + 1)),
            "whole": pairs(whole, mask_bank(math.ceil(per_bin / 4), tuple(whole[0].shape[-2:]), seed=mask_seed + 2))}


def _u8(x: torch.Tensor) -> np.ndarray:
    return (x[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)  # (H,W,3)


def _t(y: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(y).permute(2, 0, 1)[None].float() / 255  # (1,3,H,W)


def size_study(inp: Inpainter, sets: Mapping[str, list], adapted: Inpainter | None = None,
               adapt_every: int = 1) -> dict[str, dict]:
    """Per set: PSNR per pair of the Inpainter's fill (``"Det"``), with per-photo learning (``"Det adapted"``,
    ``adapted``'s fill on every ``adapt_every``-th pair, NaN on the others: it costs seconds a pair), and the
    training-free fills at full resolution (:data:`FREE`); Det's mean signed error per channel (8-bit levels)
    and its detector's AUROC on its own results, adapted or not (when it has a detector)."""
    out = {}
    for name, pairs in sets.items():
        psnrs = {k: [] for k in ("Det", "Det adapted") + FREE}
        cast, aurocs, adapted_aurocs = [], [], []
        for k, (x, hole) in enumerate(pairs):
            x8 = _u8(x)
            truth = _t(x8)
            m = torch.from_numpy(hole).float()[None, None]  # (1,1,H,W), 1 = hole
            det8 = inp.inpaint(x8, hole)
            fills = {"Det": det8}
            with torch.no_grad():
                for f in FREE:
                    fills[f] = _u8(truth * (1 - m) + FREE_FILLS[f](truth, m) * m)
            learned = adapted is not None and k % adapt_every == 0
            if learned:
                fills["Det adapted"] = adapted.inpaint(x8, hole)
            for f in psnrs:
                psnrs[f].append(float(psnr(_t(fills[f]), truth)[0]) if f in fills else math.nan)
            cast.append((det8[hole].astype(np.float64) - x8[hole]).mean(0))
            if inp.detector is not None:
                aurocs.append(auroc(inp.artifact_map(det8), hole))
                adapted_aurocs.append(auroc(inp.artifact_map(fills["Det adapted"]), hole) if learned else math.nan)
        shape = tuple(pairs[0][0].shape[-2:])
        out[name] = {"psnr": {k: np.array(v) for k, v in psnrs.items()}, "cast": np.array(cast),
                     "auroc": np.array(aurocs), "auroc adapted": np.array(adapted_aurocs), "shape": shape,
                     "scale": str(inp.scale(shape))}  # adapted or not: per-photo learning runs at the working scale
    return out


def best_free(psnrs: Mapping[str, np.ndarray]) -> str:
    """The training-free fill with the highest mean PSNR on a set: the bar a learned fill must clear there."""
    return max(FREE, key=lambda f: float(np.mean(psnrs[f])))


def size_table(study: Mapping[str, dict]) -> list[dict]:
    """One row per set: mean PSNR of each fill (the adapted one over the pairs it was scored on), Det and Det
    adapted minus the best training-free fill at full resolution, and adapted minus Det on the same pairs (95 %
    intervals over the pairs), Det's largest channel cast and its detector's AUROC on Det's and the adapted fill."""
    rows = []
    for name, r in study.items():
        p = r["psnr"]
        h, w = r["shape"]
        best = best_free(p)
        scored = np.isfinite(p["Det adapted"])
        row = {"set": f"{SIZES[name]} ({w}x{h}; the generator {r['scale']})", "pairs": len(p["Det"]),
               "adapted pairs": int(scored.sum())}
        row |= {k: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for k, v in p.items()}
        row["best free fill"] = best
        row["Det - best free"] = format_ci(paired_difference(p["Det"], p[best]), signed=True)
        row["adapted - best free"] = format_ci(paired_difference(p["Det adapted"], p[best]), signed=True)
        row["adapted - Det"] = format_ci(paired_difference(p["Det adapted"], p["Det"]), signed=True)
        row["Det's |cast|"] = float(np.abs(r["cast"].mean(0)).max())
        row["AUROC"] = float(np.nanmean(r["auroc"])) if len(r["auroc"]) else float("nan")
        a = r["auroc adapted"]
        row["AUROC adapted"] = float(np.nanmean(a)) if len(a) and np.isfinite(a).any() else float("nan")
        rows.append(row)
    return rows


def _margins(study: Mapping[str, dict]):
    """Per set: (its name, the best training-free fill, Det minus it, the adapted fill minus it or None where no
    pair was adapted), paired differences of PSNR over the set's pairs."""
    for name, r in study.items():
        p = r["psnr"]
        best = best_free(p)
        adapted = paired_difference(p["Det adapted"], p[best]) if np.isfinite(p["Det adapted"]).any() else None
        yield name, best, paired_difference(p["Det"], p[best]), adapted


def size_text(study: Mapping[str, dict]) -> str:
    """The verdict per set: does Det's fill hold the best training-free fill at full resolution (interval lower
    bound >= :data:`HOLDS`), and what per-photo learning adds to it."""
    how = {"holds": "above it", "reverses": "below it", "within noise": "level with it within noise"}
    parts = []
    for name, best, d, a in _margins(study):
        text = (f"{SIZES[name]}: Det {'holds' if d['lo'] >= HOLDS else 'does not hold'} the best training-free fill "
                f"at full resolution ({best}: {format_ci(d, signed=True)} dB)")
        if a is not None:
            text += (f"; adapted to each photo it is {how[verdict(a)]} ({format_ci(a, signed=True)} dB over "
                     f"{a['n']} pairs)")
        parts.append(text)
    return "; ".join(parts) + "."


def size_finding(study: Mapping[str, dict], adapted: bool = True) -> str:
    """:func:`size_text` in one sentence, for a page's findings: Det minus the best training-free fill at full
    resolution per set, then (``adapted``) the adapted fill's where it was scored."""
    det, adapted_parts = [], []
    for name, best, d, a in _margins(study):
        det.append(f"{SIZES[name]} {format_ci(d, signed=True)} dB ({best})")
        if adapted and a is not None:
            adapted_parts.append(f"{SIZES[name]} {format_ci(a, signed=True)} dB ({a['n']} pairs)")
    text = "Det minus the best training-free fill at full resolution: " + "; ".join(det)
    return text + (f". Adapted to each photo: {'; '.join(adapted_parts)}." if adapted_parts else ".")


# The sides the chapter times the adapted fill at: it trains at the working scale, so its seconds hardly depend on
# the photo's side (10.5, 9.6, 8.4 and 9.8 s at 64, 256, 512 and 2048 px: the Per-photo chapter's record); the
# smallest and the largest say so at half the cost. `gdn bench --photo --adapt N` times all of ADAPT_SIDES.
BOOK_ADAPT_SIDES = (64, 2048)


def time_sizes(inp: Inpainter, sides=SIDES, photo_name: str = "flower", adapted: Inpainter | None = None,
               adapt_sides=BOOK_ADAPT_SIDES) -> list[dict]:
    """The time table: :func:`gdn.engine.photobench.photo_times` (``gdn bench --photo`` measures the same), the
    adapted fill timed at ``adapt_sides``."""
    return photo_times(inp, sides, adapted=adapted, adapt_sides=adapt_sides, photo_name=photo_name)
