"""Time per photo of :meth:`gdn.engine.inference.Inpainter.inpaint` at the sizes people use, without and with
per-photo learning (``gdn bench --photo``; the Generalisation chapter's time table).

A built-in photo is resized to each square side (for timing only) with one stroke mask of 10 to 20 % of it; each
call is timed once, after a warm-up call, so the numbers are what a person waits for one photo."""
from __future__ import annotations

import math
import time

import numpy as np
import torch

__all__ = ["SIDES", "ADAPT_SIDES", "photo_times", "format_photo_times"]

SIDES = (64, 256, 512, 1024, 2048)
ADAPT_SIDES = (64, 256, 512, 2048)  # the sides the adapted fill is timed at (seconds each on a CPU)


def photo_times(inp, sides=SIDES, *, adapted=None, adapt_sides=ADAPT_SIDES, photo_name: str = "flower",
                progress=None) -> list[dict]:
    """One row per side: the hole's share, the scale the generator ran at and the seconds of ``inp.inpaint``
    (the artifact map apart) and, at ``adapt_sides``, of ``adapted.inpaint`` (an Inpainter that adapts; NaN
    elsewhere). ``progress(message)`` before each timing."""
    from PIL import Image

    from gdn.data import photo
    from gdn.masks import mask_bank

    img = photo(photo_name)
    inp.inpaint(np.zeros((64, 64, 3), np.uint8), np.eye(64, dtype=bool))  # warm-up: first-call allocations
    rows = []
    for side in sides:
        x8 = np.asarray(Image.fromarray(img).resize((side, side), Image.Resampling.BICUBIC))  # (side,side,3)
        hole = np.asarray(mask_bank(1, side, seed=side)[1]) > 0  # the (0.1, 0.2] bin
        if progress:
            progress(f"{side} px")
        t = time.perf_counter()
        inp.inpaint(x8, hole)
        row = {"side (px)": side, "hole share": float(hole.mean()), "generator": str(inp.last_scale),
               "seconds": time.perf_counter() - t}
        if adapted is not None:
            row["seconds adapted"] = math.nan
            if side in adapt_sides:
                if progress:
                    progress(f"{side} px, adapting {adapted.adaptation.steps} steps")
                t = time.perf_counter()
                adapted.inpaint(x8, hole)
                row["seconds adapted"] = time.perf_counter() - t
        rows.append(row)
    return rows


def format_photo_times(rows: list[dict], steps: int | None = None) -> str:
    """The rows as a text table (``gdn bench --photo``)."""
    head = f"{'side':>6} {'hole':>6}  {'generator':<24} {'s/photo':>8}" + (f" {'adapted':>9}" if steps else "")
    lines = [head]
    for r in rows:
        line = f"{r['side (px)']:>6} {r['hole share']:>6.1%}  {r['generator']:<24} {r['seconds']:>8.2f}"
        if steps:
            a = r.get("seconds adapted", math.nan)
            line += f" {'-' if math.isnan(a) else f'{a:.2f}':>9}"
        lines.append(line)
    if steps:
        lines.append(f"adapted: {steps} steps of per-photo learning first; torch threads: {torch.get_num_threads()}")
    return "\n".join(lines)
