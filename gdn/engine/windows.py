"""The windows a large photo is inpainted through (the strategy is in :mod:`gdn.engine.inference`): where they
go, and how a window is cut out for the generator and pasted back."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Window", "plan_windows", "window_inputs", "window_output", "ceil4", "net_side", "pad"]


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
class Window:
    """One crop ``[y0:y1, x0:x1]`` sent to the generator at ``net`` = (h, w). ``resized`` False: native
    resolution, padded at the bottom/right to ``net``; True: downscaled to ``net`` (huge holes only).
    ``groups`` are the hole labels whose pixels this window pastes back; ``None`` = every hole pixel."""
    y0: int
    y1: int
    x0: int
    x1: int
    net: tuple[int, int]
    resized: bool = False
    groups: tuple[int, ...] | None = None


def _pack_small(boxes: list[tuple[int, int, int, int, int]], cap: int) -> list[list[int]]:
    """Greedily pack small hole groups (label, y0, y1, x0, x1) into clusters whose joint bounding box has
    sides <= ``cap``, so a mask of many specks costs a few windows, not one per speck."""
    n = len(boxes)
    cy0, cy1, cx0, cx1 = (np.zeros(n, np.int64) for _ in range(4))
    members: list[list[int]] = []
    for lab, y0, y1, x0, x1 in boxes:
        k = len(members)
        if k:
            uh = np.maximum(cy1[:k], y1) - np.minimum(cy0[:k], y0)
            uw = np.maximum(cx1[:k], x1) - np.minimum(cx0[:k], x0)
            side = np.maximum(uh, uw)
            j = int(np.argmin(side))
            if side[j] <= cap:
                cy0[j], cy1[j] = min(cy0[j], y0), max(cy1[j], y1)
                cx0[j], cx1[j] = min(cx0[j], x0), max(cx1[j], x1)
                members[j].append(lab)
                continue
        cy0[k], cy1[k], cx0[k], cx1[k] = y0, y1, x0, x1
        members.append([lab])
    return members


def plan_windows(hole: np.ndarray, size: int, max_whole_pixels: int) -> tuple[list[Window], np.ndarray | None]:
    """The windows covering ``hole`` ((H,W) bool) for a generator trained at ``size``, and the group label of
    every hole pixel (None when the image is processed whole; see :mod:`gdn.engine.inference` for the why)."""
    from scipy import ndimage

    H, W = hole.shape
    S = size
    whole = [Window(0, H, 0, W, (net_side(H), net_side(W)))], None
    if max(H, W) <= 2 * S:
        return whole
    r = max(1, S // 32)  # merge holes closer than ~r px into one group
    grown = ndimage.maximum_filter(hole.view(np.uint8), size=2 * r + 1)
    labels, _ = ndimage.label(grown)
    labels = np.where(hole, labels, 0)  # labels of the hole pixels themselves (bboxes of real holes)
    small, groups = [], []
    for lab, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        y0, y1, x0, x1 = box[0].start, box[0].stop, box[1].start, box[1].stop
        if max(y1 - y0, x1 - x0) <= S // 2:
            small.append((lab, y0, y1, x0, x1))
        else:
            groups.append(([lab], (y0, y1, x0, x1)))
    index = {lab: (y0, y1, x0, x1) for lab, y0, y1, x0, x1 in small}
    for members in _pack_small(small, S // 2):
        bb = np.array([index[m] for m in members])
        groups.append((members, (bb[:, 0].min(), bb[:, 1].max(), bb[:, 2].min(), bb[:, 3].max())))
    windows = []
    for members, (y0, y1, x0, x1) in groups:
        side = ceil4(max(S, 2 * max(y1 - y0, x1 - x0)))
        wh, ww = min(side, H), min(side, W)
        wy0 = min(max((y0 + y1) // 2 - wh // 2, 0), H - wh)
        wx0 = min(max((x0 + x1) // 2 - ww // 2, 0), W - ww)
        assert wy0 <= y0 and y1 <= wy0 + wh and wx0 <= x0 and x1 <= wx0 + ww, "window misses its hole"
        if side <= 2 * S:
            net, resized = (net_side(wh), net_side(ww)), False
        else:  # fallback for holes larger than the trained scale: downscale the window to `size`
            scale = S / max(wh, ww)
            net, resized = (net_side(round(wh * scale)), net_side(round(ww * scale))), True
        windows.append(Window(int(wy0), int(wy0 + wh), int(wx0), int(wx0 + ww), net, resized,
                              tuple(int(m) for m in members)))
    cost = sum(w.net[0] * w.net[1] for w in windows)
    if H * W <= max_whole_pixels and cost >= whole[0][0].net[0] * whole[0][0].net[1]:
        return whole  # dense holes: one native pass is cheaper than the overlapping windows
    return windows, labels


def window_inputs(rgb: np.ndarray, hole: np.ndarray, w: Window) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop one window -> generator inputs image (3,h,w), mask (1,h,w) at ``w.net``."""
    img = torch.from_numpy(np.ascontiguousarray(rgb[w.y0:w.y1, w.x0:w.x1])).permute(2, 0, 1)[None]
    m = torch.from_numpy(hole[w.y0:w.y1, w.x0:w.x1]).float()[None, None]  # (1,1,wh,ww)
    if not w.resized:
        ph, pw = w.net[0] - img.shape[-2], w.net[1] - img.shape[-1]
        return pad(img, 0, ph, 0, pw)[0], pad(m, 0, ph, 0, pw)[0]
    # normalised resampling: hole colours must not bleed into the downscaled context
    valid = 1.0 - m
    num = F.interpolate(img * valid, size=w.net, mode="bilinear", antialias=True, align_corners=False)
    den = F.interpolate(valid, size=w.net, mode="bilinear", antialias=True, align_corners=False)
    small_hole = (1.0 - den) > 1e-3  # conservative: any hole coverage stays a hole
    small_img = (num / den.clamp_min(1e-6)).clamp(0, 1)
    return small_img[0], small_hole.float()[0]  # (3,h,w), (1,h,w)

def window_output(pred: torch.Tensor, w: Window) -> np.ndarray:
    """Generator output (3,h,w) -> (wh,ww,3) float32 prediction for the window's crop."""
    wh, ww = w.y1 - w.y0, w.x1 - w.x0
    if w.resized:
        pred = F.interpolate(pred[None], size=(wh, ww), mode="bilinear", align_corners=False)[0]
    else:
        pred = pred[:, :wh, :ww]
    return pred.permute(1, 2, 0).numpy()
