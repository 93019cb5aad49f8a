"""Damage for the applications chapter (paper Sec. 1: object removal, text removal, old-photo restoration): a
hand-drawn polygon hole, text burnt into a photo, synthetic scratches."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np


__all__ = ["polygon_mask", "text_overlay", "scratches"]


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
