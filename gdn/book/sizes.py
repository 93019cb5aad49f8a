"""The size study of the Generalisation chapter: the validation photos at the model's size, in 256 px crops and
whole (their native 427 x 640, never upsampled), each filled through :class:`~gdn.engine.inference.Inpainter` as
a user's photo would be, against the training-free fills; and the time per photo from 64 to 2048 px.

Pairs are ``(image (1,3,H,W) float in [0,1], hole (H,W) bool)``; scores are per pair, so every difference is paired."""
from __future__ import annotations

import math
import time
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from gdn.baselines import biharmonic, harmonic
from gdn.engine.inference import Inpainter
from gdn.evaluation.scores import auroc, psnr
from gdn.stats import format_ci, paired_difference

__all__ = ["SIZES", "AnchorNet", "size_pairs", "size_study", "size_table", "size_text", "time_sizes"]

SIZES = {"model": "the model's size", "256": "256 px crops", "whole": "whole photos"}
TIMED = (64, 256, 512, 1024, 2048)


class AnchorNet(nn.Module):
    """A training-free fill in the place of a generator: through an :class:`Inpainter` it is brought to the same
    working scale, so the difference to the generator is what the network adds, at every size."""

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


def size_study(inp: Inpainter, anchor_name: str, anchor, sets: Mapping[str, list]) -> dict[str, dict]:
    """Per set: PSNR per pair of the Inpainter's fill (``"Det"``), its anchor through the same working scale
    (``anchor_name``), and the harmonic and biharmonic fills at full resolution; Det's mean signed error per
    channel (8-bit levels) and its detector's AUROC on its own results (when it has a detector)."""
    plain = Inpainter(AnchorNet(anchor), working_side=inp.working_side)
    out = {}
    for name, pairs in sets.items():
        psnrs = {k: [] for k in ("Det", anchor_name, "harmonic", "biharmonic")}
        cast, aurocs = [], []
        for x, hole in pairs:
            x8 = _u8(x)
            truth = _t(x8)
            m = torch.from_numpy(hole).float()[None, None]  # (1,1,H,W), 1 = hole
            det8 = inp.inpaint(x8, hole)
            fills = {"Det": det8, anchor_name: plain.inpaint(x8, hole)}
            for k, f in (("harmonic", harmonic), ("biharmonic", biharmonic)):
                fills[k] = _u8(truth * (1 - m) + f(truth, m) * m)
            for k, y in fills.items():
                psnrs[k].append(float(psnr(_t(y), truth)[0]))
            cast.append((det8[hole].astype(np.float64) - x8[hole]).mean(0))
            if inp.detector is not None:
                aurocs.append(auroc(inp.artifact_map(det8), hole))
        out[name] = {"psnr": {k: np.array(v) for k, v in psnrs.items()}, "cast": np.array(cast),
                     "auroc": np.array(aurocs), "shape": tuple(pairs[0][0].shape[-2:]),
                     "scale": str(inp.scale(tuple(pairs[0][0].shape[-2:])))}
    return out


def size_table(study: Mapping[str, dict], anchor_name: str) -> list[dict]:
    """One row per set: mean PSNR of each fill, Det minus its anchor and minus biharmonic (95 % intervals over the
    pairs), Det's largest channel cast and its detector's AUROC."""
    rows = []
    for name, r in study.items():
        p = r["psnr"]
        h, w = r["shape"]
        row = {"set": f"{SIZES[name]} ({w}x{h}; the generator {r['scale']})", "pairs": len(p["Det"])}
        row |= {k: float(np.mean(v)) for k, v in p.items()}
        row["Det - anchor"] = format_ci(paired_difference(p["Det"], p[anchor_name]), signed=True)
        row["Det - biharmonic"] = format_ci(paired_difference(p["Det"], p["biharmonic"]), signed=True)
        row["Det's |cast|"] = float(np.abs(r["cast"].mean(0)).max())
        row["AUROC"] = float(np.nanmean(r["auroc"])) if len(r["auroc"]) else float("nan")
        rows.append(row)
    return rows


def size_text(study: Mapping[str, dict], anchor_name: str) -> str:
    """The verdict per set: does the network's fill hold its anchor (interval lower bound >= -0.05 dB) and
    biharmonic (mean within 0.1 dB or above)?"""
    parts = []
    for name, r in study.items():
        p = r["psnr"]
        d = paired_difference(p["Det"], p[anchor_name])
        b = float(np.mean(p["Det"]) - np.mean(p["biharmonic"]))
        holds = "holds" if d["lo"] >= -0.05 else "does not hold"
        parts.append(f"{SIZES[name]}: Det {holds} its anchor ({format_ci(d, signed=True)} dB) and is {b:+.2f} dB "
                     f"from biharmonic")
    return "; ".join(parts) + "."


def time_sizes(inp: Inpainter, sides=TIMED, photo_name: str = "flower") -> list[dict]:
    """Seconds per photo of ``inp.inpaint`` (the artifact map apart) at each square side, one stroke mask of
    10 to 20 % of the photo; the photo is resized to the side for timing only (quality is scored above at
    native sizes)."""
    from PIL import Image

    from gdn.data import photo
    from gdn.masks import mask_bank

    img = photo(photo_name)
    inp.inpaint(_u8(torch.rand(1, 3, 64, 64)), np.eye(64, dtype=bool))  # warm-up: first-call allocations
    rows = []
    for side in sides:
        x8 = np.asarray(Image.fromarray(img).resize((side, side), Image.Resampling.BICUBIC))
        hole = np.asarray(mask_bank(1, side, seed=side)[1]) > 0  # the (0.1, 0.2] bin
        t = time.perf_counter()
        inp.inpaint(x8, hole)
        rows.append({"side (px)": side, "hole share": float(hole.mean()), "generator": str(inp.last_scale),
                     "seconds": time.perf_counter() - t})
    return rows
