"""Hole masks: free-form irregular masks (paper Sec. 4.1), ratio bins (Table 1) and external mask sets.

Convention everywhere in gdn: a mask is ``{0,1}`` with **1 = hole**.

The paper trains on QuickDraw doodles (QD-IMD) that go through "rotation, dilation, and cropping ... in
sequence" (Sec. 4.1) and tests on the 12k irregular masks of Liu et al., both sorted into the six
mask-ratio bins of Table 1. Neither set ships with this package, so :func:`irregular_mask` draws doodle-like
strokes itself and applies the same three augmentations in the same order; :func:`load_masks` reads an
external set when you have one.

Reproducibility: every random choice comes from the ``np.random.Generator`` you pass (uniform and integer
draws only), and all geometry after those draws is integer arithmetic (fixed-point rotation, disk stamps,
maximum filters), so a seed gives the same bytes on any machine.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from scipy import ndimage

from gdn.files import list_files
from gdn.imageio import MASK_EXTS, read_mask

__all__ = [
    "RATIO_BINS", "BIN_LABELS", "MASK_EXTS", "hole_ratio", "ratio_bin", "irregular_mask", "random_mask",
    "mask_bank", "mask_bank_bins", "load_masks", "resize_mask", "check_mask", "list_files",
]

# Table 1's mask-ratio bins, right-closed: (0.01,0.1], (0.1,0.2], ..., (0.5,0.6].
RATIO_BINS: tuple[tuple[float, float], ...] = (
    (0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6),
)
BIN_LABELS: tuple[str, ...] = tuple(f"({lo:g},{hi:g}]" for lo, hi in RATIO_BINS)


# Official GDN processing zeroes a 23 px frame of a 256 px mask for the "with border constraint" set
# (reference/official_gdn.md, Sec. 7); we keep that fraction at any size.
BORDER_FRACTION = 23 / 256

# The official script's comment "we set margin in range [0-10], [10-20]" (Sec. 7 there) reads as: the border
# constraint is used for the two smallest bins only. Above that a 23 px frame would force the holes into a
# nearly filled square, so random_mask and mask_bank apply it only to targets up to this ratio.
BORDER_MAX_RATIO = 0.2

_Q = 16  # fixed-point bits of the rotation's cos/sin


def hole_ratio(mask) -> float:
    """Fraction of hole pixels of one mask (array or tensor, any shape, 1 = hole)."""
    return float(np.asarray(mask, dtype=np.float64).mean())


def ratio_bin(ratio: float) -> int | None:
    """Index of the right-closed bin of ``RATIO_BINS`` holding ``ratio``, or None outside them all."""
    for i, (lo, hi) in enumerate(RATIO_BINS):
        if lo < ratio <= hi:
            return i
    return None


def _hw(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        try:
            h, w = (int(v) for v in size)
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or (H, W), got {size!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return h, w


# --------------------------------------------------------------------------------------------------------
# Free-form masks
# --------------------------------------------------------------------------------------------------------

_DISKS: dict[int, np.ndarray] = {}


def _disk(r: int) -> np.ndarray:
    """(K,2) int64 offsets of a digital disk of radius r, cached: the stamp of a round brush."""
    d = _DISKS.get(r)
    if d is None:
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        # r*r + r rather than r*r: rounder small disks (r=1 gives a 3x3 square rather than a 5-pixel plus)
        keep = yy * yy + xx * xx <= r * r + r
        d = _DISKS[r] = np.stack([yy[keep], xx[keep]], axis=1).astype(np.int64)
    return d


_ARANGE = np.arange(1 << 16, dtype=np.int64)

_DISKS_FLAT: dict[tuple[int, int], np.ndarray] = {}


def _disk_flat(r: int, C: int) -> np.ndarray:
    """(K,) offsets of the radius-r disk in a flat C-wide canvas."""
    d = _DISKS_FLAT.get((r, C))
    if d is None:
        o = _disk(r)
        d = _DISKS_FLAT[(r, C)] = o[:, 0] * C + o[:, 1]
    return d


class _Doodle:
    """State of one mask being drawn: canvas, rotation index map, dilation and the cropped result.

    The pipeline is literal -- strokes on a canvas, rotation about the canvas centre, square dilation,
    crop -- but evaluated lazily: after each stroke segment only the output pixels that segment can reach
    are recomputed. Because a nearest-neighbour rotation is a gather and dilation and cropping are both
    unions of local windows, the result equals running the whole pipeline once at the end (a test checks).
    """

    def __init__(self, h: int, w: int, rng: np.random.Generator, border: bool, margin: int | None,
                 dilation_range: tuple[float, float]):
        self.h, self.w = h, w
        s = min(h, w)
        # random rotation: any angle, as official (-180..180 degrees); cos/sin rounded to 1/2**16 so the
        # index map below is pure integer arithmetic: a last-bit difference between two platforms' libm
        # could only matter if cos*2**16 fell within 1e-11 of a half-integer
        theta = (2.0 * rng.random() - 1.0) * math.pi
        c = int(round(math.cos(theta) * (1 << _Q)))
        sn = int(round(math.sin(theta) * (1 << _Q)))
        self.theta = theta
        # random dilation by an odd square kernel 2*dh+1 (official: a square k x k kernel, k in 14..27 at 256)
        dlo = max(0, int(round(dilation_range[0] * s / 2)))
        dhi = max(dlo, int(round(dilation_range[1] * s / 2)))
        self.dh = dh = int(rng.integers(dlo, dhi + 1))
        # random crop: the output is an (h,w) window of a rotated frame 1.5x larger (official: 256 of 512)
        fh, fw = h + h // 2, w + w // 2
        oy, ox = int(rng.integers(0, fh - h + 1)), int(rng.integers(0, fw - w + 1))
        # the canvas holds the preimage of the whole frame (+ dilation reach) for any angle: no empty corners
        self.C = C = int(math.ceil(math.hypot(fh, fw))) + 2 * dh + 8
        cc = C // 2
        self.canvas = np.zeros(C * C, dtype=np.uint8)  # flat (C*C,), 1 = stroke
        # output pixel (y,x) sits at frame offset (y+oy-fh//2, x+ox-fw//2) from the rotation centre
        self.ty, self.tx = oy - fh // 2, ox - fw // 2
        self.c, self.s, self.cc = c, sn, cc
        # int32 is exact here for sizes up to ~20k px (|c*y| < 2**31) and halves the cost of the map
        ys = np.arange(-dh, h + dh, dtype=np.int32)[:, None] + np.int32(self.ty)
        xs = np.arange(-dh, w + dh, dtype=np.int32)[None, :] + np.int32(self.tx)
        half = 1 << (_Q - 1)
        # inverse rotation frame -> canvas, rounded to the nearest pixel: (h+2dh, w+2dh) int32 flat canvas index
        c32, s32 = np.int32(c), np.int32(sn)
        sy = ((c32 * ys - s32 * xs + np.int32(half)) >> _Q) + np.int32(cc)
        sx = ((c32 * xs + s32 * ys + np.int32(half)) >> _Q) + np.int32(cc)
        self.index = sy * np.int32(C) + sx
        self.out = np.zeros((h, w), dtype=np.uint8)  # (H,W) uint8, 1 = hole
        self.holes = 0
        if border:
            m = int(round(BORDER_FRACTION * s)) if margin is None else int(margin)
            if 2 * m >= min(h, w):
                raise ValueError(f"border margin {m} leaves no room in a {h}x{w} mask")
        else:
            m = 0
        self.region = (m, h - m, m, w - m)  # holes may appear only inside this box

    def start_point(self, rng: np.random.Generator) -> tuple[int, int]:
        """Canvas pixel under a uniform point of the visible (border-respecting) window.

        Strokes start where the crop will see them; they may still wander out of it, and the crop then
        cuts them, as the official random crop cuts QuickDraw strokes.
        """
        y0, y1, x0, x1 = self.region
        y, x = int(rng.integers(y0, y1)), int(rng.integers(x0, x1))
        q = int(self.index[y + self.dh, x + self.dh])
        return q // self.C, q % self.C

    def segment(self, p0: tuple[int, int], p1: tuple[int, int], r: int) -> tuple[int, int, int, int] | None:
        """Stamp a brush of radius r along p0 -> p1 on the canvas; return the output box it can change (or None)."""
        C = self.C
        dy, dx = p1[0] - p0[0], p1[1] - p0[1]
        # stamps no farther apart than r/2 px: the union of disks is then a smooth thick line
        n = max(1, -(-max(abs(dy), abs(dx)) // max(1, r // 2)))
        i = _ARANGE[:n + 1]
        py = p0[0] + (dy * i) // n  # (n+1,) canvas rows of the stamp centres
        px = p0[1] + (dx * i) // n
        ylo, xlo = min(p0[0], p1[0]) - r, min(p0[1], p1[1]) - r
        yhi, xhi = max(p0[0], p1[0]) + r, max(p0[1], p1[1]) + r
        if yhi < 0 or xhi < 0 or ylo >= C or xlo >= C:
            return None
        flat = (py * C + px)[:, None] + _disk_flat(r, C)[None, :]
        if ylo < 0 or xlo < 0 or yhi >= C or xhi >= C:
            # clipped at the canvas edge (rare: the canvas is larger than anything the crop can see)
            yy = py[:, None] + _disk(r)[None, :, 0]
            xx = px[:, None] + _disk(r)[None, :, 1]
            flat = flat[(yy >= 0) & (yy < C) & (xx >= 0) & (xx < C)]
            ylo, xlo, yhi, xhi = max(ylo, 0), max(xlo, 0), min(yhi, C - 1), min(xhi, C - 1)
        self.canvas[flat.ravel()] = 1
        # output box these canvas pixels can reach: forward-rotate the canvas box corners (+2 px for the
        # rounding of both maps), then widen by the dilation reach
        c, sn = self.c, self.s
        ylo -= self.cc
        yhi -= self.cc
        xlo -= self.cc
        xhi -= self.cc
        fys = ((sn * xlo + c * ylo) >> _Q, (sn * xhi + c * ylo) >> _Q, (sn * xlo + c * yhi) >> _Q,
               (sn * xhi + c * yhi) >> _Q)
        fxs = ((c * xlo - sn * ylo) >> _Q, (c * xhi - sn * ylo) >> _Q, (c * xlo - sn * yhi) >> _Q,
               (c * xhi - sn * yhi) >> _Q)
        pad = 2 + self.dh
        ry0, ry1, rx0, rx1 = self.region
        y0 = max(ry0, min(fys) - self.ty - pad)
        y1 = min(ry1, max(fys) - self.ty + pad + 1)
        x0 = max(rx0, min(fxs) - self.tx - pad)
        x1 = min(rx1, max(fxs) - self.tx + pad + 1)
        return (y0, y1, x0, x1) if y0 < y1 and x0 < x1 else None

    def refresh(self, y0: int, y1: int, x0: int, x1: int) -> None:
        """Recompute output pixels [y0:y1, x0:x1] from the canvas: rotate (gather), dilate, crop."""
        if y0 >= y1 or x0 >= x1:
            return
        dh = self.dh
        # rotation (gather) on the box plus the dilation reach, dilation, then keep the box (crop)
        g = self.canvas.take(self.index[y0:y1 + 2 * dh, x0:x1 + 2 * dh])
        g = _dilate(g, dh)
        old = self.out[y0:y1, x0:x1]
        self.holes += int(np.count_nonzero(g > old))
        np.maximum(old, g, out=old)


def _dilate(g: np.ndarray, dh: int) -> np.ndarray:
    """Square (2dh+1)^2 binary dilation of g, returning only the pixels whose window lies inside g."""
    if dh == 0:
        return g
    k = 2 * dh + 1
    g = ndimage.maximum_filter1d(g, k, axis=0, mode="constant")[dh:-dh]
    return ndimage.maximum_filter1d(g, k, axis=1, mode="constant")[:, dh:-dh]


def _draw_irregular(size, rng, target_ratio, border, max_strokes, max_vertices, width_range,
                    dilation_range, step_range, margin, max_segments) -> _Doodle:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng)}")
    h, w = _hw(size)
    s = min(h, w)
    d = _Doodle(h, w, rng, border, margin, dilation_range)
    rlo = max(1, int(round(width_range[0] * s / 2)))
    rhi = max(rlo, int(round(width_range[1] * s / 2)))
    lmin, lmax = step_range[0] * s, step_range[1] * s
    goal = None if target_ratio is None else float(target_ratio) * h * w
    n_strokes = int(rng.integers(1, max_strokes + 1)) if goal is None else None
    segments = 0
    stroke = 0
    # Output boxes drawn on the canvas but not yet refreshed, and an upper bound on the holes they can add.
    # Refreshing only when holes + bound could reach the goal stops at exactly the same segment as
    # refreshing after every segment, at a fraction of the cost.
    pending: tuple[int, int, int, int] | None = None
    bound = 0
    while (stroke < n_strokes) if goal is None else (d.holes < goal and segments < max_segments):
        stroke += 1
        r = int(rng.integers(rlo, rhi + 1))
        p = d.start_point(rng)
        heading = 2.0 * math.pi * rng.random()
        for _ in range(int(rng.integers(1, max_vertices))):
            # doodle-like: mostly gentle bends, now and then a sharp turn (as in hand-drawn sketches)
            if rng.random() < 0.15:
                heading += (2.0 * rng.random() - 1.0) * math.pi
            else:
                heading += (2.0 * rng.random() - 1.0) * 0.7
            length = lmin + (lmax - lmin) * rng.random()
            # vertices are rounded to integer pixels: everything downstream is integer arithmetic
            q = (p[0] + int(round(length * math.sin(heading))), p[1] + int(round(length * math.cos(heading))))
            box = d.segment(p, q, r)
            p = q
            segments += 1
            if goal is None or box is None:
                continue
            bound += (box[1] - box[0]) * (box[3] - box[2])
            pending = box if pending is None else (min(pending[0], box[0]), max(pending[1], box[1]),
                                                   min(pending[2], box[2]), max(pending[3], box[3]))
            bound = min(bound, (pending[1] - pending[0]) * (pending[3] - pending[2]))
            if d.holes + bound >= goal:
                d.refresh(*pending)
                pending, bound = None, 0
                if d.holes >= goal:
                    break
            if segments >= max_segments:
                break
    if goal is None:
        d.refresh(*d.region)
    elif pending is not None:
        d.refresh(*pending)
    return d


def irregular_mask(size, rng: np.random.Generator, *, target_ratio: float | None = None, border: bool = False,
                   max_strokes: int = 8, max_vertices: int = 16, width_range: tuple[float, float] = (0.02, 0.1),
                   dilation_range: tuple[float, float] = (0.02, 0.105), step_range: tuple[float, float] = (0.04, 0.14),
                   margin: int | None = None, max_segments: int = 2000) -> np.ndarray:
    """One free-form mask: doodle strokes, then random rotation, dilation and cropping (paper Sec. 4.1).

    A stand-in for the paper's processed QuickDraw masks (QD-IMD; reference/official_gdn.md Sec. 7):

    1. strokes: random-walk polylines of 1..``max_vertices``-1 segments (lengths ``step_range`` x short side,
       mostly gentle bends with occasional sharp turns) drawn with a round brush whose width is drawn per
       stroke from ``width_range`` x short side (7..27 px at 256; QD-IMD draws 5..15 px at 512, upscaled);
    2. rotation by a uniform angle in [-180, 180) degrees about the canvas centre (nearest neighbour);
    3. dilation with an odd square kernel whose side is drawn from ``dilation_range`` x short side (7..27 px
       at 256; the official processing erodes the white background with a square 14..27 px kernel, which
       dilates the holes);
    4. a random (H, W) crop of a rotated frame 1.5x larger than the output (official: 256 of 512).

    Without ``target_ratio``, 1..``max_strokes`` strokes are drawn. With it, segments are added (ignoring
    ``max_strokes``) until the hole ratio reaches the target or ``max_segments`` is hit; the last segment
    overshoots by at most a few percent, so callers that need a bin accept or reject the result.
    ``border=True`` keeps every hole pixel at least ``margin`` px (default 23/256 of the short side, the
    official value) away from the image edge.

    Returns an (H, W) uint8 array in {0, 1}, 1 = hole; ``size`` is an int or (H, W).
    """
    d = _draw_irregular(size, rng, target_ratio, border, max_strokes, max_vertices, width_range,
                        dilation_range, step_range, margin, max_segments)
    return d.out


def _draw_in(size, rng: np.random.Generator, lo: float, hi: float, border_prob: float) -> np.ndarray:
    """One :func:`irregular_mask` aimed at a target ratio drawn uniformly in ``[lo, hi)``, with the border
    constraint with probability ``border_prob`` where the target is at most ``BORDER_MAX_RATIO``; the caller
    rejects a mask that lands outside its range."""
    target = lo + (hi - lo) * rng.random()
    border = (rng.random() < border_prob) and target <= BORDER_MAX_RATIO
    return irregular_mask(size, rng, target_ratio=target, border=border)


def random_mask(size, rng: np.random.Generator, ratio_range: tuple[float, float] = (0.01, 0.6), *,
                border_prob: float = 0.5, max_tries: int = 100) -> np.ndarray:
    """A training mask (paper Sec. 4.1): an :func:`irregular_mask` with hole ratio in ``(lo, hi]``.

    The target ratio is drawn uniformly in ``ratio_range``; since Table 1's bins are (nearly) equally wide
    this gives each bin a roughly equal share, like the official per-bin capped mask folders. The paper
    mixes masks with and without the border constraint: it is used with probability ``border_prob`` for
    targets up to ``BORDER_MAX_RATIO`` (0.2, see there). Masks that land outside ``(lo, hi]`` are redrawn.
    """
    lo, hi = float(ratio_range[0]), float(ratio_range[1])
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"ratio_range must satisfy 0 <= lo < hi <= 1, got {ratio_range!r}")
    for _ in range(max_tries):
        m = _draw_in(size, rng, lo, hi, border_prob)
        if lo < hole_ratio(m) <= hi:
            return m
    raise RuntimeError(f"no mask with hole ratio in ({lo}, {hi}] after {max_tries} tries at size {size}")


def mask_bank(per_bin: int, size=256, seed: int = 0, *, border_prob: float = 0.5) -> list[np.ndarray]:
    """A fixed evaluation set: exactly ``per_bin`` masks in each of Table 1's six bins (paper Sec. 4.1).

    Ordered bin by bin (``per_bin`` masks of bin 0, then bin 1, ...). One ``np.random.default_rng(seed)``
    drives everything, so the bank is the same for the same arguments on any machine. Per bin, target
    ratios are drawn uniformly inside the bin and masks outside it are rejected; in the two smallest bins
    about half the masks (``border_prob``) carry the border constraint (see ``BORDER_MAX_RATIO``).
    ``ratio_bin(hole_ratio(m))`` of each mask is its bin (see :func:`mask_bank_bins`).
    """
    if per_bin < 0:
        raise ValueError(f"per_bin must be >= 0, got {per_bin}")
    rng = np.random.default_rng(seed)
    bank: list[np.ndarray] = []
    for b, (lo, hi) in enumerate(RATIO_BINS):
        got, tries = 0, 0
        while got < per_bin:
            tries += 1
            if tries > 200 * per_bin + 100:
                raise RuntimeError(f"mask_bank: cannot fill bin {BIN_LABELS[b]} at size {size}")
            m = _draw_in(size, rng, lo, hi, border_prob)
            if ratio_bin(hole_ratio(m)) == b:
                bank.append(m)
                got += 1
    return bank


def mask_bank_bins(bank: Iterable) -> np.ndarray:
    """Bin index of every mask, ``ratio_bin(hole_ratio(m))``, -1 outside every bin: for a :func:`mask_bank`, the
    bin each mask was drawn for; for a :class:`gdn.mask_sets.MaskSet`, its masks' published bins. (N,) int."""
    if getattr(bank, "bins", None) is not None:
        return np.asarray(bank.bins, dtype=int)
    return np.array([-1 if (b := ratio_bin(hole_ratio(m))) is None else b for m in bank], dtype=int)


# --------------------------------------------------------------------------------------------------------
# External masks
# --------------------------------------------------------------------------------------------------------

def resize_mask(mask, size, threshold: float = 0.5) -> np.ndarray:
    """Resize a {0,1} (or [0,1]) mask to ``size`` bilinearly on floats, then re-binarise at ``threshold``.

    PIL's bilinear filter widens its support when shrinking (antialiasing), so a downscaled mask keeps the
    majority of each footprint rather than a sampled pixel. Returns (H, W) uint8 {0,1}.
    """
    from PIL import Image

    h, w = _hw(size)
    a = np.asarray(mask, dtype=np.float32)  # (h0,w0) in [0,1]
    if a.shape != (h, w):
        a = np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.BILINEAR))
    return (a >= threshold).astype(np.uint8)


def load_masks(folder_or_list, size, *, invert: bool = False, threshold: float = 0.5) -> list[np.ndarray]:
    """Read an external mask set, e.g. the 12k irregular test masks of Liu et al. (paper Sec. 4.1).

    ``folder_or_list`` is a folder (searched recursively for .png .jpg .jpeg .bmp .tif .tiff, sorted), a
    text file with one path per line (relative to the list's folder), a python list of paths, or one file.
    Files may be single-channel or RGB (converted to luminance) and are read by :func:`gdn.imageio.read_mask`:
    white (>= 128 in 8 bits) is a hole, or black with ``invert=True``. Each mask is resized to ``size`` (int or
    (H, W), no cropping) bilinearly on [0,1] floats and binarised again at ``threshold``.

    An unreadable file raises one ``ValueError`` naming it: masks are labels, so none is silently skipped.
    Returns a list of (H, W) uint8 arrays in {0,1}, 1 = hole.
    """
    files = list_files(folder_or_list, MASK_EXTS, what="mask")
    h, w = _hw(size)
    # binarised at full resolution first (JPEG residue), then again after the resize (contract: Masks)
    return [resize_mask(read_mask(f, invert=invert), (h, w), threshold) for f in files]  # (H,W) uint8, 1 = hole


def check_mask(mask, name: str = "mask"):
    """Raise ``ValueError`` unless ``mask`` (numpy array or torch tensor) holds only 0 and 1; return it unchanged."""
    a = mask.detach().cpu().numpy() if hasattr(mask, "detach") else np.asarray(mask)
    if a.dtype == bool:
        return mask
    ok = (a == 0) | (a == 1)
    if not ok.all():
        bad = np.unique(a[~ok])[:3]
        shown = ", ".join(f"{v:g}" if np.issubdtype(bad.dtype, np.number) else repr(v) for v in bad)
        raise ValueError(f"{name}: found values other than 0 and 1 (e.g. {shown}); a mask must be binary with "
                         f"1 = hole: re-binarise it, e.g. (mask >= 0.5) for [0,1] floats or (mask >= 128) for 8-bit")
    return mask
