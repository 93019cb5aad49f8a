"""The scale a photo is inpainted at (the strategy is in :mod:`gdn.engine.inference`): the generator's working
size for a photo, the resampling there and back, and the full-resolution detail fill around the result.

A generator learns detail at the scale of its training images. A photo larger than that scale goes through the
generator brought down to it (its shorter side at ``content_side``); the generator's fill, upsampled, is the
coarse result, and the detail the small image could not hold (the photo minus that upsampled result, around the
hole) is continued into the hole by a harmonic fill at full resolution.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gdn.baselines import harmonic

__all__ = ["Scale", "working_shape", "downscale", "detail_fill", "ceil4", "net_side", "pad", "DETAIL_ITERS"]

DETAIL_ITERS = 10  # Jacobi steps per level of the detail fill (3 cost 0.1 to 0.2 dB on the validation photos)
DETAIL_MARGIN = 8  # px of valid context around each hole group of the detail fill (it needs the 1 px border)


def ceil4(n: int) -> int:
    return -(-n // 4) * 4


def net_side(n: int) -> int:
    # multiples of 4 (two stride-2 stages); at least 16 so the residual blocks' reflect padding (2 px at 1/4
    # scale) always has room
    return max(16, ceil4(n))


def pad(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Reflect padding where it is possible (pad < side), replicate padding otherwise (tiny images)."""
    if top == bottom == left == right == 0:
        return x
    h, w = x.shape[-2:]
    mode = "reflect" if max(top, bottom) < h and max(left, right) < w else "replicate"
    return F.pad(x, (left, right, top, bottom), mode=mode)


@dataclass(frozen=True)
class Scale:
    """How one photo went through the generator: ``photo`` (H, W) at ``work`` (h, w) (equal: natively)."""
    photo: tuple[int, int]
    work: tuple[int, int]

    @property
    def native(self) -> bool:
        return self.photo == self.work

    @property
    def factor(self) -> float:
        """How many photo pixels one working pixel spans (1 = native)."""
        return min(self.photo) / min(self.work)

    def __str__(self) -> str:
        if self.native:
            return "at native scale"
        return f"at {self.work[1]}x{self.work[0]} ({self.factor:.1f}x down)"


def working_shape(H: int, W: int, side: int) -> tuple[int, int]:
    """The (h, w) a photo of (H, W) goes through the generator at: unchanged if its shorter side is at most
    ``side``, else brought down (aspect kept) so that its shorter side is ``side``. Never up: upsampling a small
    photo would only invent blur."""
    if min(H, W) <= side:
        return H, W
    f = min(H, W) / side
    return max(1, round(H / f)), max(1, round(W / f))


def downscale(image: torch.Tensor, mask: torch.Tensor, shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Bring (B,3,H,W) ``image`` and its (B,1,H,W) ``mask`` (1 = hole) to ``shape`` (antialiased): the valid
    pixels are averaged alone (normalised resampling), so hole colours never leak into the small image, and any
    working pixel touched by the hole is a hole (conservative)."""
    valid = 1.0 - mask
    num = F.interpolate(image * valid, size=shape, mode="bilinear", antialias=True, align_corners=False)
    den = F.interpolate(valid, size=shape, mode="bilinear", antialias=True, align_corners=False)
    small_hole = (1.0 - den) > 1e-3  # (B,1,h,w)
    return (num / den.clamp_min(1e-6)).clamp(0, 1), small_hole.to(image.dtype)


def hole_groups(hole: np.ndarray, margin: int = DETAIL_MARGIN) -> tuple[list[tuple[slice, slice]], np.ndarray]:
    """Boxes around the groups of ``hole`` ((H,W) bool) whose pixels lie within ``2 * margin`` of each other,
    each grown by ``margin`` (clipped to the image), and every pixel's group label (0 off the hole); the box of
    group ``k`` is ``boxes[k - 1]``."""
    from scipy import ndimage

    grown = ndimage.maximum_filter(hole.view(np.uint8), size=2 * margin + 1)
    labels, _ = ndimage.label(grown)
    labels = np.where(hole, labels, 0)  # the groups of the hole pixels themselves (every group has some)
    H, W = hole.shape
    boxes = [(slice(max(0, b[0].start - margin), min(H, b[0].stop + margin)),
              slice(max(0, b[1].start - margin), min(W, b[1].stop + margin)))
             for b in ndimage.find_objects(labels)]
    return boxes, labels


def detail_fill(residual: torch.Tensor, hole: np.ndarray, iters: int = DETAIL_ITERS) -> torch.Tensor:
    """The harmonic continuation into ``hole`` ((H,W) bool) of a (1,3,H,W) ``residual`` (the photo minus the
    upsampled coarse result): what the working scale could not hold, faded smoothly from the hole's border
    inwards. Solved per group of nearby holes within its box, so a few strokes on a large photo cost their own
    area, not the photo's; (1,3,H,W), zero off the hole."""
    out = torch.zeros_like(residual)
    boxes, labels = hole_groups(hole)
    for k, (ys, xs) in enumerate(boxes, start=1):
        own = torch.from_numpy(labels[ys, xs] == k)  # (h,w): this group's hole pixels
        m = torch.from_numpy(hole[ys, xs]).to(residual.dtype)[None, None]  # (1,1,h,w), every hole pixel in it
        fill = harmonic(residual[..., ys, xs], m, iters=iters)  # (1,3,h,w)
        out[..., ys, xs] = torch.where(own, fill, out[..., ys, xs])
    return out
