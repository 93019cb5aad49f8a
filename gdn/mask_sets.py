"""The paper's mask sets (Sec. 4.1), read from a user's download: Liu et al.'s 12k irregular test masks in their
published order and bins, and QuickDraw drawings (QD-IMD) turned into training masks on the fly.

- Test: Liu et al. (PConv) publish 12,000 masks, 2,000 per ratio bin of Table 1 in file order (bin 1 first),
  each bin 1,000 with a border constraint and 1,000 without. :func:`liu_test_masks` reads them in that order,
  checks the count and the polarity, and tells the two halves of each bin apart by measuring them (the half
  whose masks keep away from the image border is the constrained one), so it needs no recalled convention.
  :func:`paired_test_masks` pairs each bin's masks in their fixed order with every test image: Table 1 scores
  the whole test set in every bin.
- Training: QD-IMD's drawings are 512 px, holes black on white. :class:`QuickDrawMasks` reads one at random,
  then applies the same rotation, dilation and cropping as :func:`gdn.masks.irregular_mask` applies to its own
  strokes, and keeps it if its ratio falls in a bin drawn uniformly (the official processing sorts them into
  the six bin folders, capped alike). Ratios of 0.6 and above are dropped, as there.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from gdn.files import list_files
from gdn.imageio import MASK_EXTS, read_mask
from gdn.masks import (BIN_LABELS, BORDER_FRACTION, BORDER_MAX_RATIO, RATIO_BINS, _Doodle, _hw, hole_ratio,
                       ratio_bin, resize_mask)

__all__ = ["MaskSet", "LIU_TOTAL", "LiuBin", "liu_test_masks", "paired_test_masks", "QuickDrawMasks",
           "QD_PREFIX"]

LIU_TOTAL = 12000  # Liu et al.'s test masks: 2,000 per bin, 1,000 with a border constraint and 1,000 without
QD_PREFIX = "qdimd:"  # config ``train_masks="qdimd:DIR"``: QuickDraw drawings processed on the fly


class MaskSet(list):
    """A list of (H,W) uint8 masks (1 = hole) that knows each mask's ratio bin (``bins``, (N,) int, -1 = none).
    The evaluation groups by these bins (:func:`gdn.evaluation.protocol.bin_groups`) rather than re-measuring:
    a published mask keeps its published bin after it is resized."""

    def __init__(self, masks: Sequence[np.ndarray], bins: Sequence[int]):
        super().__init__(masks)
        if len(bins) != len(self):
            raise ValueError(f"{len(bins)} bins for {len(self)} masks")
        self.bins = np.asarray(bins, dtype=int)


@dataclass
class LiuBin:
    label: str
    files: list[Path]  # the bin's masks in published order
    border_files: list[Path]  # the half with the border constraint (measured)
    free_files: list[Path]  # the half without
    ratio_range: tuple[float, float]  # measured at native size, min and max
    touching: tuple[float, float]  # share of masks with a hole in the border frame: constrained half, free half
    invert: bool  # the files mark holes in black


def _touches_border(mask: np.ndarray) -> bool:
    m = max(1, int(round(BORDER_FRACTION * min(mask.shape))))
    return bool(mask[:m].any() or mask[-m:].any() or mask[:, :m].any() or mask[:, -m:].any())


def liu_test_masks(folder, *, total: int = LIU_TOTAL) -> list[LiuBin]:
    """Liu et al.'s test masks at ``folder`` (a folder or a list, files in name order), as six bins.

    Checks: exactly ``total`` files (``total`` other than 12,000 only for a unit test); each bin's masks have
    hole ratios near the bin. The polarity is read from the files: the first bin's masks are mostly valid
    pixels, so if they read as mostly hole with white = hole, the set marks holes in black (downloads differ).
    The two halves of each bin are told apart by how many of their masks reach into the border frame (23/256
    of the side, the official margin). Raises one ``ValueError`` naming the folder and the problem."""
    files = list_files(folder, MASK_EXTS, what="mask")
    if len(files) != total or total % 12:
        raise ValueError(f"{folder}: found {len(files):,} mask files, expected {total:,} (Liu et al.'s test set "
                         "is 12,000 masks; an incomplete download?)")
    per_bin, bins = total // 6, []
    first = np.median([hole_ratio(read_mask(f)) for f in files[:min(per_bin, 50)]])
    invert = bool(first > 0.5)  # the smallest bin is at most 10 % hole
    for b, label in enumerate(BIN_LABELS):
        chunk = files[b * per_bin:(b + 1) * per_bin]
        masks = [read_mask(f, invert=invert) for f in chunk]
        ratios = np.array([hole_ratio(m) for m in masks])
        lo, hi = RATIO_BINS[b]
        mid = float(np.median(ratios))
        if not lo - 0.05 < mid <= hi + 0.05:
            raise ValueError(f"{folder}: the masks of bin {label} (files {b * per_bin}..{(b + 1) * per_bin - 1}) "
                             f"have a median hole ratio of {mid:.3f}, outside the bin (not Liu et al.'s order?)")
        half = per_bin // 2
        touch = np.array([_touches_border(m) for m in masks])
        one, two = float(touch[:half].mean()), float(touch[half:].mean())
        border, free = (chunk[:half], chunk[half:]) if one <= two else (chunk[half:], chunk[:half])
        bins.append(LiuBin(label, chunk, border, free, (float(ratios.min()), float(ratios.max())),
                           (min(one, two), max(one, two)), invert))
    return bins


def paired_test_masks(bins: Sequence[LiuBin], n_images: int, size, *, border: str = "both") -> MaskSet:
    """Every test image in every bin: for bin b and image i, the bin's mask ``i mod len`` in its fixed order
    (``border``: "both" = published order, "with" or "without" = that half only), resized to ``size`` and
    re-binarised. Mask ``b * n_images + i`` is paired with image ``i`` (the evaluation pairs mask k with image
    ``k mod n_images``). Returns a :class:`MaskSet` with each mask's published bin."""
    if border not in ("both", "with", "without"):
        raise ValueError(f"border must be 'both', 'with' or 'without', got {border!r}")
    masks, labels = [], []
    for b, item in enumerate(bins):
        files = {"both": item.files, "with": item.border_files, "without": item.free_files}[border]
        cache: dict[int, np.ndarray] = {}
        for i in range(n_images):
            k = i % len(files)
            if k not in cache:
                cache[k] = resize_mask(read_mask(files[k], invert=item.invert), size)  # (H,W) uint8, 1 = hole
            masks.append(cache[k])
            labels.append(b)
    return MaskSet(masks, labels)


class QuickDrawMasks:
    """Training masks from QD-IMD's raw drawings (a folder or list; black strokes on white, or the other way:
    the strokes are whichever colour covers less of the drawing), processed on the fly (paper Sec. 4.1): a
    drawing, then random rotation, dilation and crop, kept when its ratio falls in a bin drawn uniformly; the
    border constraint with probability ``border_prob`` for bins up to ``BORDER_MAX_RATIO``, as
    :func:`gdn.masks.random_mask`. The drawing is scaled to cover the rotated frame (the official zoom of 1.5
    leaves no empty corner either), so its strokes keep about their width in pixels."""

    def __init__(self, folder, *, border_prob: float = 0.5, max_tries: int = 20):
        self.files = list_files(folder, MASK_EXTS, what="mask")
        self.folder = folder
        self.border_prob, self.max_tries = float(border_prob), int(max_tries)

    def __len__(self) -> int:
        return len(self.files)

    def process(self, drawing: np.ndarray, size, rng: np.random.Generator, border: bool) -> np.ndarray:
        """One drawing ((S,S) {0,1}, 1 = stroke) through rotation, dilation and cropping: (H,W) uint8, 1 = hole."""
        from PIL import Image

        h, w = _hw(size)
        d = _Doodle(h, w, rng, border, None, (0.02, 0.105))
        side = d.C - 8  # covers the preimage of the whole frame and the dilation's reach for any angle
        scaled = np.asarray(Image.fromarray(drawing.astype(np.uint8) * 255).resize((side, side),
                                                                                Image.Resampling.NEAREST)) >= 128
        top = d.cc - side // 2
        canvas = d.canvas.reshape(d.C, d.C)
        canvas[top:top + side, top:top + side] = scaled
        d.refresh(*d.region)
        return d.out

    def draw(self, rng: np.random.Generator, size) -> np.ndarray:
        """A training mask of ``size`` in a bin drawn uniformly (after ``max_tries`` drawings, any in a bin)."""
        target = int(rng.integers(len(RATIO_BINS)))
        border = bool(rng.random() < self.border_prob) and RATIO_BINS[target][1] <= BORDER_MAX_RATIO
        fallback = None
        for _ in range(self.max_tries):
            path = self.files[int(rng.integers(len(self.files)))]
            drawing = read_mask(path)  # (S,S) uint8, 1 = white
            if drawing.mean() > 0.5:  # QD-IMD's own polarity: black strokes on white
                drawing = 1 - drawing
            m = self.process(drawing, size, rng, border)
            b = ratio_bin(hole_ratio(m))
            if b == target:
                return m
            if b is not None and fallback is None:
                fallback = m
        if fallback is None:
            raise ValueError(f"{self.folder}: {self.max_tries} drawings in a row gave no mask with a hole ratio in "
                             f"(0.01, 0.6]: are these QuickDraw drawings?")
        return fallback
