"""Hole masks: free-form irregular masks (paper Sec. 4.1), ratio bins (Table 1) and external mask sets.

Convention everywhere in gdn: a mask is ``{0,1}`` with **1 = hole**.
"""
from __future__ import annotations

import numpy as np

# Table 1's mask-ratio bins, right-closed: (0.01,0.1], (0.1,0.2], ..., (0.5,0.6].
RATIO_BINS: tuple[tuple[float, float], ...] = (
    (0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6),
)
BIN_LABELS: tuple[str, ...] = tuple(f"({lo:g},{hi:g}]" for lo, hi in RATIO_BINS)


def hole_ratio(mask) -> float:
    """Fraction of hole pixels of one mask (array or tensor, any shape, 1 = hole)."""
    return float(np.asarray(mask, dtype=np.float64).mean())


def ratio_bin(ratio: float) -> int | None:
    """Index of the right-closed bin of ``RATIO_BINS`` holding ``ratio``, or None outside them all."""
    for i, (lo, hi) in enumerate(RATIO_BINS):
        if lo < ratio <= hi:
            return i
    return None
