"""Image-inpainting scores on 8-bit composites (l1, PSNR, SSIM) and the detector's AUROC.

Paper Sec. 4.2.2 / Table 1 reports l1 error (%), PSNR, SSIM [Wang et al. 2004] and FID [Heusel et al. 2017]
per mask-ratio bin. The official GDN code ships none of this protocol (only a one-image PSNR/SSIM in
``test.py``, see reference/official_gdn.md Sec. 8), so it is re-implemented here with these choices:

* Metrics compare the **composite** ``mask * pred + (1 - mask) * image`` with the ground truth, both
  quantised to 8 bits with :func:`to_uint8` (rounding; the official ``test.py`` truncated with ``astype``).
* Every per-image metric is a mean over pixels *and* channels of one image; dataset numbers are means of
  per-image values (the official in-training PSNR instead pooled the MSE over a whole batch).

Input conventions shared by :func:`l1`, :func:`psnr`, :func:`ssim` and friends:

* ``torch.Tensor`` is channels-first: ``(C,H,W)`` one image or ``(B,C,H,W)`` a batch;
  ``np.ndarray`` is channels-last: ``(H,W)``/``(H,W,C)`` one image or ``(B,H,W,C)`` a batch.
* ``uint8`` means 0..255; any float dtype means [0,1]. Values are not re-quantised here: pass
  :func:`to_uint8` outputs to score 8-bit images.
* One image in -> a Python ``float``; a batch in -> ``np.ndarray`` of shape ``(B,)`` with per-image values.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["to_uint8", "composite", "as_batch", "gray", "l1", "l1_255", "l1_relative", "psnr", "ssim", "auroc"]


# ----------------------------------------------------------------------------------------------------------
# conversions
# ----------------------------------------------------------------------------------------------------------
def to_uint8(x):
    """Quantise a [0,1] float image/batch to uint8 by **rounding** (``round(255 x)`` after clipping).

    Keeps the container and layout: tensor in -> tensor out, ndarray in -> ndarray out; uint8 passes through.
    The official GDN ``test.py`` truncated (``(255 x).astype(uint8)``), which biases every pixel down by
    half a level on average; rounding is the unbiased inverse of ``k / 255``.
    """
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.uint8:
            return x
        return (x.detach().clamp(0, 1) * 255).round().to(torch.uint8)
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def composite(pred, image, mask):
    """Paste the prediction into the holes: ``mask * pred + (1 - mask) * image`` (contract; 1 = hole).

    Shapes: pred, image ``(B,3,H,W)``; mask ``(B,1,H,W)`` broadcast over channels (ndarrays broadcast alike).
    """
    return mask * pred + (1 - mask) * image


def as_batch(x) -> tuple[torch.Tensor, bool]:
    """Any accepted image input -> (float64 tensor (B,C,H,W) in [0,1], was-it-a-batch)."""
    tensor = isinstance(x, torch.Tensor)
    t = x.detach().cpu() if tensor else torch.from_numpy(np.ascontiguousarray(np.asarray(x)))
    batched = t.ndim == 4
    if t.ndim == 2:  # (H,W) gray
        t = t[None, None] if tensor else t[None, ..., None]
    elif t.ndim == 3:  # (C,H,W) tensor, (H,W,C) array
        t = t[None]
    elif not batched:
        shapes = "a (C,H,W) or (B,C,H,W) tensor" if tensor else "an (H,W,C) or (B,H,W,C) array"
        raise ValueError(f"expected {shapes}, got shape {tuple(x.shape)}")
    if not tensor:
        t = t.permute(0, 3, 1, 2)  # channels last -> first
    is_u8 = t.dtype == torch.uint8
    t = t.to(torch.float64)
    return (t / 255.0 if is_u8 else t), batched


def _pair(a, b) -> tuple[torch.Tensor, torch.Tensor, bool]:
    ta, batched_a = as_batch(a)
    tb, batched_b = as_batch(b)
    if ta.shape != tb.shape:
        raise ValueError(f"images differ in shape: {tuple(ta.shape)} vs {tuple(tb.shape)} (as B,C,H,W)")
    return ta, tb, batched_a or batched_b


def _out(v: torch.Tensor, batched: bool):
    v = v.numpy().astype(np.float64)
    return v if batched else float(v[0])


def gray(x) -> torch.Tensor:
    """Luma as in ``skimage.color.rgb2gray`` (0.2125 R + 0.7154 G + 0.0721 B): ``(B,1,H,W)`` float64 in [0,1].

    EdgeConnect's ``scripts/metrics.py`` scores grayscale images; GDN's ``test.py`` scores RGB.
    """
    t, _ = as_batch(x)
    w = torch.tensor([0.2125, 0.7154, 0.0721], dtype=torch.float64).view(1, 3, 1, 1)
    return (t * w).sum(1, keepdim=True)


# ----------------------------------------------------------------------------------------------------------
# pixel metrics
# ----------------------------------------------------------------------------------------------------------
def l1(a, b):
    """Mean absolute error in **percent** of the [0,1] range, the paper's "l1 (%)" (Table 1)."""
    ta, tb, batched = _pair(a, b)
    return _out((ta - tb).abs().mean(dim=(1, 2, 3)) * 100.0, batched)


def l1_255(a, b):
    """Mean absolute error on the 0-255 scale (``= 2.55 * l1``)."""
    ta, tb, batched = _pair(a, b)
    return _out((ta - tb).abs().mean(dim=(1, 2, 3)) * 255.0, batched)


def l1_relative(a, b):
    """EdgeConnect's "MAE": ``sum|a - b| / sum(a + b)`` per image (scale-free; 0 when both are black)."""
    ta, tb, batched = _pair(a, b)
    num = (ta - tb).abs().sum(dim=(1, 2, 3))
    den = (ta + tb).sum(dim=(1, 2, 3))
    return _out(torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(num)), batched)


def psnr(a, b):
    """Peak signal-to-noise ratio in dB with data range 1: ``10 log10(1 / MSE)``; ``inf`` for equal images.

    Agrees with ``skimage.metrics.peak_signal_noise_ratio`` (data_range 1, or 255 for uint8 inputs).
    """
    ta, tb, batched = _pair(a, b)
    mse = ((ta - tb) ** 2).mean(dim=(1, 2, 3))
    out = torch.where(mse > 0, 10.0 * torch.log10(1.0 / mse.clamp_min(1e-300)),
                      torch.full_like(mse, math.inf))
    return _out(out, batched)


def _window_1d(win_size: int, sigma: float, gaussian: bool) -> torch.Tensor:
    if gaussian:
        x = torch.arange(win_size, dtype=torch.float64) - (win_size - 1) / 2
        w = torch.exp(-0.5 * (x / sigma) ** 2)
    else:
        w = torch.ones(win_size, dtype=torch.float64)
    return w / w.sum()


def _band(n: int, w: torch.Tensor) -> torch.Tensor:
    """(n, n-k+1) matrix whose column j holds the k-tap window at rows j..j+k-1 ('valid' filtering)."""
    k = len(w)
    band = torch.zeros(n, n - k + 1, dtype=torch.float64)
    cols = torch.arange(n - k + 1)
    for i in range(k):
        band[cols + i, cols] = w[i]
    return band


def ssim(a, b, *, win_size: int = 11, sigma: float = 1.5, gaussian: bool = True,
         sample_covariance: bool | None = None, K1: float = 0.01, K2: float = 0.03):
    """Structural similarity (Wang et al. 2004), mean of per-channel SSIM for RGB.

    Defaults are Wang et al.'s: an 11x11 Gaussian window with sigma 1.5, population (co)variances,
    K1 = 0.01, K2 = 0.03, data range 1. As in scikit-image the SSIM map is averaged only over the
    *valid* region (a border of ``(win_size - 1) // 2`` pixels is dropped). Matches
    ``skimage.metrics.structural_similarity(a, b, channel_axis=-1, data_range=1 (255 for uint8),
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` to ~1e-10.

    Alternatives for comparing definitions:
      * ``gaussian=False, win_size=7``: scikit-image's defaults (uniform window, sample covariance).
      * ``gaussian=False, win_size=51``: the official GDN ``test.py`` / EdgeConnect setting.
    ``sample_covariance`` defaults to ``not gaussian`` (scikit-image's defaults in either case);
    a Gaussian window is truncated to ``win_size`` taps (scikit-image ties its size to ``sigma`` instead,
    which coincides at 11 / 1.5).
    """
    if win_size % 2 != 1:
        raise ValueError(f"win_size must be odd, got {win_size}")
    ta, tb, batched = _pair(a, b)
    B, C, H, W = ta.shape
    if min(H, W) < win_size:
        raise ValueError(f"win_size {win_size} exceeds the image size {H}x{W}")
    if sample_covariance is None:
        sample_covariance = not gaussian
    n = win_size * win_size
    cov_norm = n / (n - 1) if sample_covariance else 1.0

    # All five local moments at once, each a 'valid' separable filtering written as banded matrix
    # products (B_h^T X B_w): float64 matmuls are ~10x faster than float64 conv2d on CPU.
    x, y = ta.reshape(B * C, H, W), tb.reshape(B * C, H, W)
    stack = torch.stack([x, y, x * x, y * y, x * y])  # (5, B*C, H, W)
    w = _window_1d(win_size, sigma, gaussian)
    stack = _band(H, w).T @ stack @ _band(W, w)  # (5, B*C, H-win+1, W-win+1)
    ux, uy, uxx, uyy, uxy = stack
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = K1 ** 2, K2 ** 2  # data range 1
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    per_channel = s.reshape(B, C, -1).mean(dim=2)  # (B,C)
    return _out(per_channel.mean(dim=1), batched)


# ----------------------------------------------------------------------------------------------------------
# detection
# ----------------------------------------------------------------------------------------------------------

def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    # first index of every run of equal values, and each value's run
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    run_of = np.cumsum(np.r_[True, sorted_x[1:] != sorted_x[:-1]]) - 1
    ends = np.r_[starts[1:], len(x)]  # exclusive
    average = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = average[run_of]
    return ranks


def auroc(scores, labels) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (1 = positive), from ranks: the
    Mann-Whitney U of the positives over ``n_pos * n_neg``, ties counting one half. NaN if a class is empty.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in size: {s.shape} vs {y.shape}")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = _average_ranks(s)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
