"""Stand-in downloads, shaped like the real ones and tiny: CelebA-HQ's flat folder, Places365-Standard's category
folders and validation list, Paris StreetView's two folders, Liu et al.'s 12,000 test masks (file names, order,
bins and border halves), and QD-IMD-like drawings. The rehearsal tests build them; nothing is downloaded."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from gdn.masks import RATIO_BINS, irregular_mask, hole_ratio, ratio_bin


def _photo(rng: np.random.Generator, side: int) -> Image.Image:
    # smooth colour ramps plus noise: an image a generator can learn something from in a few steps
    y, x = np.mgrid[0:side, 0:side] / side
    base = rng.random(3)[:, None, None] * np.stack([x, y, 1 - x]) + rng.random(3)[:, None, None] * 0.5
    a = np.clip(base.transpose(1, 2, 0) * 200 + rng.normal(0, 8, (side, side, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(a)


def _write(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def celebahq(root: Path, n: int = 40, side: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for i in range(n):
        _write(root / f"{i}.jpg", _photo(rng, side))
    return root


PLACES_CATEGORIES = ["/a/airfield", "/a/alley", "/b/beach", "/c/canyon", "/f/forest_path", "/m/mountain"]


def places2(root: Path, per_category: int = 6, val_per_category: int = 3, side: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "categories_places365.txt").write_text("".join(f"{c} {i}\n" for i, c in enumerate(PLACES_CATEGORIES)))
    lines, k = [], 0
    for i, cat in enumerate(PLACES_CATEGORIES):
        for j in range(per_category):
            _write(root / "data_256" / cat.lstrip("/") / f"{j + 1:08d}.jpg", _photo(rng, side))
        for _ in range(val_per_category):
            k += 1
            name = f"Places365_val_{k:08d}.jpg"
            _write(root / "val_256" / name, _photo(rng, side))
            lines.append(f"{name} {i}\n")
    order = rng.permutation(len(lines))  # the real list is not grouped by category
    (root / "places365_val.txt").write_text("".join(lines[i] for i in order))
    return root


def paris(root: Path, train: int = 12, test: int = 3, side: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for i in range(train):
        _write(root / "paris_train_original" / f"{i:05d}_{i % 7}.JPG", _photo(rng, side))
    for i in range(test):
        _write(root / "paris_eval_gt" / f"{i + 1:03d}_im.png", _photo(rng, side))
    return root


def _png(mask: np.ndarray, black_holes: bool) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(((1 - mask) if black_holes else mask).astype(np.uint8) * 255).save(buf, format="PNG")
    return buf.getvalue()


def liu_masks(root: Path, side: int = 32, variants: int = 4, black_holes: bool = False, seed: int = 0,
              border_first: bool = True) -> Path:
    """12,000 files ``00000.png`` .. ``11999.png``: 2,000 per bin in bin order, each bin's first (or second) 1,000
    with the border constraint. ``variants`` distinct masks per half are drawn and their bytes repeated."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    k = 0
    for b, (lo, hi) in enumerate(RATIO_BINS):
        halves = []
        for border in (True, False):
            drawn = []
            while len(drawn) < variants:
                m = irregular_mask(side, rng, target_ratio=lo + (hi - lo) * rng.random(),
                                   border=border and hi <= 0.3, margin=None)
                ok = ratio_bin(hole_ratio(m)) == b
                if ok and not border:  # the free half must reach into the frame
                    m[0, :] = 1
                    ok = ratio_bin(hole_ratio(m)) == b
                if ok:
                    drawn.append(_png(m, black_holes))
            halves.append(drawn)
        if not border_first:
            halves.reverse()
        for half in halves:
            for i in range(1000):
                (root / f"{k:05d}.png").write_bytes(half[i % variants])
                k += 1
    return root


def qdimd(root: Path, n: int = 6, side: int = 64, seed: int = 0) -> Path:
    """Drawings as QD-IMD ships them: black strokes on white."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        strokes = irregular_mask(side, rng, width_range=(0.03, 0.06), dilation_range=(0.0, 0.0))
        _write(root / f"{i:06d}.png", Image.fromarray((1 - strokes) * 255))
    return root


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
