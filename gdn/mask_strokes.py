"""Stroke masks of a given width, from one-pixel scratches to heavy strokes: the masks of the paper's Fig. 9.

The paper's conclusion (Sec. 5, Fig. 9) names its method's limit: the detector "easily captures artifacts from
heavy scratches" but "pays more attention to semantic information instead of tiny scratches". The free-form
masks of :mod:`gdn.masks` (7..27 px brushes at 256 px, then dilated) never draw a thin scratch, so this family
draws exactly that: random-walk polylines painted with a round brush of one width ``width`` in pixels at the
mask's size, the same for every stroke, so a width curve (Fig. 9 of the book, ``gdn evaluate --mask-strokes W``)
has one variable.

Drawing: a pixel is a hole when its centre lies within ``width / 2`` of the stroke's centreline (a union of
capsules, round caps and joins), so the hole area per unit of centreline length is ``width`` on average at any
angle: a 1 px stroke is a one-pixel (8-connected) line, a 4 px stroke a band four pixels across. Strokes bend
gently and reflect off the image border, so they stay in view. With ``target_ratio`` the last segment is cut
at the length where the hole ratio reaches the target: the ratio overshoots by at most about one pixel of
stroke (``width`` px).

Reproducibility: every random choice comes from the ``np.random.Generator`` you pass; the same seed gives the
same mask. Masks are (H, W) uint8 in {0, 1}, 1 = hole, like every mask in gdn.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gdn.masks import BIN_LABELS, RATIO_BINS, _hw, hole_ratio, ratio_bin

__all__ = ["SCRATCH_WIDTHS", "SCRATCH_RATIOS", "check_width", "scratch_masks", "stroke_mask", "stroke_bank",
           "write_stroke_bank"]

# The thin scratches a critic is shown (``Config.critic_thin``): widths in pixels at the training size, and hole
# ratios, each drawn uniformly per mask (the probe of the record of 7 December 2026, book/records.md)
SCRATCH_WIDTHS = (1.0, 4.0)
SCRATCH_RATIOS = (0.03, 0.2)


def check_width(width, size) -> float:
    """``width`` as a float number of pixels, or a ``ValueError`` saying why it cannot be a stroke width at
    ``size`` (at least 1 px, finite, and no wider than the mask's short side)."""
    h, w = _hw(size)
    if isinstance(width, bool):
        raise ValueError(f"stroke width must be a number of pixels, got {width!r}")
    try:
        value = float(width)
    except (TypeError, ValueError):
        raise ValueError(f"stroke width must be a number of pixels, got {width!r}") from None
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"stroke width must be at least 1 px (a one-pixel scratch), got {width!r}")
    if value > min(h, w):
        raise ValueError(f"a {value:g} px stroke is wider than the {h}x{w} mask it is drawn in")
    return value


def _box(shape: tuple[int, int], p, q, r: float) -> tuple[int, int, int, int] | None:
    """The pixel box (y0, y1, x0, x1) around segment p -> q widened by r, clipped to the image; None outside."""
    h, w = shape
    y0, y1 = max(0, math.floor(min(p[0], q[0]) - r)), min(h, math.ceil(max(p[0], q[0]) + r) + 1)
    x0, x1 = max(0, math.floor(min(p[1], q[1]) - r)), min(w, math.ceil(max(p[1], q[1]) + r) + 1)
    return (y0, y1, x0, x1) if y0 < y1 and x0 < x1 else None


def _capsule(box: tuple[int, int, int, int], p, q, r: float) -> np.ndarray:
    """(y1-y0, x1-x0) bool: the pixels of ``box`` whose centre lies within r of the segment p -> q."""
    y0, y1, x0, x1 = box
    yy = np.arange(y0, y1, dtype=np.float64)[:, None] - p[0]  # pixel centres relative to p
    xx = np.arange(x0, x1, dtype=np.float64)[None, :] - p[1]
    dy, dx = q[0] - p[0], q[1] - p[1]
    n2 = dy * dy + dx * dx
    t = np.clip((yy * dy + xx * dx) / n2, 0.0, 1.0) if n2 > 0 else 0.0  # the segment's nearest point
    return (yy - t * dy) ** 2 + (xx - t * dx) ** 2 <= r * r


def _reflect(v: float, hi: float) -> tuple[float, bool]:
    # a coordinate mirrored back into [0, hi] (steps are shorter than the image: one mirror suffices)
    if v < 0:
        return -v, True
    if v > hi:
        return 2 * hi - v, True
    return v, False


def stroke_mask(size, rng: np.random.Generator, width: float, *, target_ratio: float | None = 0.05,
                n_strokes: int | None = None, max_vertices: int = 8, step_range: tuple[float, float] = (0.04, 0.14),
                bend: float = 0.6, max_segments: int = 100000) -> np.ndarray:
    """One mask of random strokes all ``width`` px wide at ``size`` (int or (H, W)): scratches for the paper's
    Fig. 9 (thin: "tiny scratches", wide: "heavy scratches").

    Each stroke starts at a uniform point with a uniform heading and walks 1..``max_vertices`` segments of
    ``step_range`` x the short side, turning by up to +-``bend`` radians at each vertex and reflecting off the
    border. Strokes are added until the hole ratio reaches ``target_ratio`` (the last segment is cut where it
    does, so the ratio exceeds the target by about ``width`` pixels at most), or, with ``target_ratio=None``,
    ``n_strokes`` strokes are drawn. ``width`` may be fractional (e.g. 1.5); see :func:`check_width`.

    Returns an (H, W) uint8 array in {0, 1}, 1 = hole.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng)}")
    h, w = _hw(size)
    r = check_width(width, (h, w)) / 2
    if target_ratio is None:
        if n_strokes is None or n_strokes < 1:
            raise ValueError(f"give target_ratio or n_strokes >= 1, got n_strokes={n_strokes!r}")
        goal = h * w + 1  # never reached: the stroke count stops
    else:
        if not 0 < target_ratio < 1:
            raise ValueError(f"target_ratio must be in (0, 1), got {target_ratio!r}")
        goal = math.ceil(float(target_ratio) * h * w)
    s = min(h, w)
    lmin, lmax = max(1.0, step_range[0] * s), max(1.0, step_range[1] * s)
    out = np.zeros((h, w), dtype=np.uint8)
    holes = segments = strokes = 0
    while holes < goal and segments < max_segments and (target_ratio is not None or strokes < n_strokes):
        strokes += 1
        p = ((h - 1) * rng.random(), (w - 1) * rng.random())
        heading = 2.0 * math.pi * rng.random()
        for _ in range(int(rng.integers(1, max_vertices + 1))):
            heading += (2.0 * rng.random() - 1.0) * bend
            length = lmin + (lmax - lmin) * rng.random()
            qy, flip_y = _reflect(p[0] + length * math.sin(heading), h - 1)
            qx, flip_x = _reflect(p[1] + length * math.cos(heading), w - 1)
            heading = -heading if flip_y else heading
            heading = math.pi - heading if flip_x else heading
            q = (qy, qx)
            segments += 1
            box = _box((h, w), p, q, r)
            if box is not None:
                patch = out[box[0]:box[1], box[2]:box[3]]  # a view: stamping it draws into out
                before = int(np.count_nonzero(patch))
                hit = _capsule(box, p, q, r)
                if holes + int(np.count_nonzero(patch | hit)) - before >= goal:
                    # cut the segment at the shortest whole-pixel length whose holes reach the goal
                    n = max(1, math.ceil(math.hypot(q[0] - p[0], q[1] - p[1])))
                    at = lambda k: (p[0] + (q[0] - p[0]) * k / n, p[1] + (q[1] - p[1]) * k / n)  # noqa: E731
                    lo, hi = 0, n
                    while lo < hi:
                        mid = (lo + hi) // 2
                        more = int(np.count_nonzero(patch | _capsule(box, p, at(mid), r))) - before
                        lo, hi = (lo, mid) if holes + more >= goal else (mid + 1, hi)
                    q = at(lo)
                    hit = _capsule(box, p, q, r)
                patch |= hit
                holes += int(np.count_nonzero(patch)) - before
            p = q
            if holes >= goal or segments >= max_segments:
                break
    return out


def scratch_masks(mask, share: float, rng: np.random.Generator):
    """``mask`` (B,1,H,W) float tensor, 1 = hole, with thin scratches added to each sample's mask with
    probability ``share``: one :func:`stroke_mask` whose width and hole ratio are drawn uniformly from
    :data:`SCRATCH_WIDTHS` and :data:`SCRATCH_RATIOS`, joined to the sample's own holes. Returns a new tensor
    (same dtype and device); ``mask`` is not changed. What a critic trains on in its critic-only steps with
    ``Config.critic_thin`` (not in the paper): the free-form training masks never draw a stroke under 7 px, so a
    detector never learns thin holes; added rather than swapped in, every sample keeps its free-form holes, which
    the detector keeps learning (the record of 7 December 2026: swapped in, it lost 0.02-0.03 AUROC on them)."""
    import torch

    out = mask.clone()
    h, w = mask.shape[-2:]
    for i in range(mask.shape[0]):
        if rng.random() < share:
            m = stroke_mask((h, w), rng, float(rng.uniform(*SCRATCH_WIDTHS)),
                            target_ratio=float(rng.uniform(*SCRATCH_RATIOS)))
            out[i, 0] = torch.maximum(out[i, 0], torch.from_numpy(m).to(out))
    return out


def stroke_bank(per_bin: int, size=256, seed: int = 0, *, width: float) -> list[np.ndarray]:
    """A fixed evaluation set of stroke masks ``width`` px wide: exactly ``per_bin`` in each of Table 1's six
    ratio bins, ordered bin by bin (as :func:`gdn.masks.mask_bank`), from one ``np.random.default_rng(seed)``.

    The target ratio of each mask is drawn uniformly inside its bin. A width too wide for the smallest bin (one
    dab of the brush already covers more than 10 % of the mask) is a ``ValueError`` saying so."""
    if per_bin < 0:
        raise ValueError(f"per_bin must be >= 0, got {per_bin}")
    h, w = _hw(size)
    width = check_width(width, (h, w))
    rng = np.random.default_rng(seed)
    bank: list[np.ndarray] = []
    for b, (lo, hi) in enumerate(RATIO_BINS):
        got = tries = 0
        while got < per_bin:
            tries += 1
            if tries > 20 * per_bin + 20:
                raise ValueError(f"stroke_bank: {width:g} px strokes cannot make a mask in bin {BIN_LABELS[b]} at "
                                 f"{h}x{w} px (one dab covers {math.pi * width ** 2 / 4 / (h * w):.0%} of it)")
            m = stroke_mask((h, w), rng, width, target_ratio=lo + (hi - lo) * (1 - rng.random()))
            if ratio_bin(hole_ratio(m)) == b:
                bank.append(m)
                got += 1
    return bank


def write_stroke_bank(folder: str | Path, per_bin: int, size, seed: int = 0, *, width: float) -> Path:
    """Draw :func:`stroke_bank` and write it as PNG files (white = hole, the contract's mask files) into
    ``folder``/``strokes-<width>px-<per_bin>-per-bin-seed<seed>-<H>x<W>`` (created; the name holds every
    argument, so the same folder always holds the same masks), one ``bin<b>_<k>.png`` per mask: what
    ``gdn evaluate --mask-strokes W`` scores, kept beside its metrics so other methods can be scored on the same
    masks with ``--masks``. Returns the folder."""
    from gdn.files import atomic_write
    from gdn.imageio import encode

    h, w = _hw(size)
    width = check_width(width, (h, w))
    bank = stroke_bank(per_bin, (h, w), seed, width=width)
    target = Path(folder) / f"strokes-{width:g}px-{per_bin}-per-bin-seed{seed}-{h}x{w}"
    target.mkdir(parents=True, exist_ok=True)
    for k, m in enumerate(bank):
        png = encode(m * np.uint8(255), 255, ".png")
        atomic_write(target / f"bin{k // max(per_bin, 1)}_{k % max(per_bin, 1):03d}.png", lambda f, b=png: f.write(b))
    return target
