"""Image-inpainting metrics on 8-bit composites: l1, PSNR, SSIM, FID, and a per-mask-ratio evaluator.

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

import csv
import json
import math
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg

from gdn.masks import BIN_LABELS, hole_ratio, ratio_bin

__all__ = [
    "to_uint8", "composite", "gray",
    "l1", "l1_255", "l1_relative", "psnr", "ssim",
    "FID_WEIGHTS_NAME", "FID_WEIGHTS_URL", "fid_weights_path", "inception", "activations",
    "frechet_distance", "fid_from_features", "fid",
    "auroc", "evaluate", "rows_to_csv", "rows_to_json", "format_table",
]

# Same name and URL as pytorch_fid.inception.FID_WEIGHTS_URL (0.3.0); kept here so that checking for the
# file does not import torchvision.
FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FID_WEIGHTS_NAME}"


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


def _as_batch(x) -> tuple[torch.Tensor, bool]:
    """Any accepted image input -> (float64 tensor (B,C,H,W) in [0,1], was-it-a-batch)."""
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if t.ndim == 2:  # (H,W) gray
            t, batched = t[None, None], False
        elif t.ndim == 3:  # (C,H,W)
            t, batched = t[None], False
        elif t.ndim == 4:
            batched = True
        else:
            raise ValueError(f"expected a (C,H,W) or (B,C,H,W) tensor, got shape {tuple(x.shape)}")
        is_u8 = t.dtype == torch.uint8
    else:
        a = np.asarray(x)
        if a.ndim == 2:  # (H,W) gray
            a, batched = a[None, ..., None], False
        elif a.ndim == 3:  # (H,W,C)
            a, batched = a[None], False
        elif a.ndim == 4:
            batched = True
        else:
            raise ValueError(f"expected an (H,W,C) or (B,H,W,C) array, got shape {a.shape}")
        is_u8 = a.dtype == np.uint8
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2)
    t = t.to(torch.float64)
    if is_u8:
        t = t / 255.0
    return t, batched


def _pair(a, b) -> tuple[torch.Tensor, torch.Tensor, bool]:
    ta, batched_a = _as_batch(a)
    tb, batched_b = _as_batch(b)
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
    t, _ = _as_batch(x)
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
# FID (Heusel et al. 2017) with pytorch-fid's Inception
# ----------------------------------------------------------------------------------------------------------
_INCEPTION_CACHE: dict[tuple[str, int], torch.nn.Module] = {}


def fid_weights_path() -> Path:
    """Where pytorch-fid expects the FID Inception weights: ``<torch hub dir>/checkpoints/<FID_WEIGHTS_NAME>``.

    ``torch.hub.get_dir()`` is ``$TORCH_HOME/hub`` (default ``~/.cache/torch/hub``), read at call time.
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_NAME


def _check_fid_weights() -> None:
    path = fid_weights_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"FID needs the Inception weights file {FID_WEIGHTS_NAME}, which is not in {path.parent} "
            f"(torch hub cache; set $TORCH_HOME to use another). Nothing is downloaded: on a machine with "
            f"internet get {FID_WEIGHTS_URL} and copy it to {path}"
        )


def inception(device="cpu", dims: int = 2048) -> torch.nn.Module:
    """pytorch-fid's FID InceptionV3 (resize to 299, inputs in [0,1]) returning ``dims``-d features, cached.

    Raises FileNotFoundError (see :func:`fid_weights_path`) instead of ever trying to download the weights.
    """
    key = (str(torch.device(device)), int(dims))
    if key not in _INCEPTION_CACHE:
        _check_fid_weights()
        from pytorch_fid.inception import InceptionV3  # imports torchvision: only when FID is wanted

        block = InceptionV3.BLOCK_INDEX_BY_DIM[int(dims)]
        model = InceptionV3([block], resize_input=True, normalize_input=True)
        _INCEPTION_CACHE[key] = model.eval().to(device)
    return _INCEPTION_CACHE[key]


def _features(model, x: torch.Tensor, device) -> np.ndarray:
    """(N,3,H,W) float in [0,1] -> (N,d) float64 features, pytorch-fid style (``model(x)[0]``, pooled)."""
    with torch.no_grad():
        pred = model(x.to(device=device, dtype=torch.float32))[0]
    if pred.shape[2] != 1 or pred.shape[3] != 1:
        pred = F.adaptive_avg_pool2d(pred, output_size=(1, 1))
    return pred.flatten(1).cpu().numpy().astype(np.float64)


def activations(images, model, *, batch_size: int = 50, device="cpu") -> np.ndarray:
    """Features ``(N,d)`` of a float tensor ``(N,3,H,W)`` in [0,1], a uint8 array ``(N,H,W,3)``, or a
    sequence of single images; computed batch-wise in memory (pytorch-fid goes through image files)."""
    if isinstance(images, (torch.Tensor, np.ndarray)):
        n = len(images)
        take = lambda i, j: _as_batch(images[i:j])[0]  # noqa: E731
    else:
        images = list(images)
        n = len(images)
        take = lambda i, j: torch.cat([_as_batch(im)[0] for im in images[i:j]])  # noqa: E731
    feats = [_features(model, take(i, min(i + batch_size, n)), device) for i in range(0, n, batch_size)]
    return np.concatenate(feats) if feats else np.zeros((0, 0))


def _stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return feats.mean(axis=0), np.atleast_2d(np.cov(feats, rowvar=False))


def frechet_distance(mu1, sigma1, mu2, sigma2, *, eps: float = 1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017):
    ``||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``.

    Same algorithm as ``pytorch_fid.fid_score.calculate_frechet_distance`` (scipy ``sqrtm``; ``eps`` on the
    diagonals if the product is singular; tiny imaginary parts dropped). Re-implemented because that
    function passes ``sqrtm(disp=False)``, deprecated in SciPy 1.17 (removed in 1.18) and already
    broken for 1x1 matrices.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # A singular product (few samples, many dims) is expected; the eps retry below handles it.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            offset = np.eye(s1.shape[0]) * eps
            covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary component {np.max(np.abs(covmean.imag))} in sqrtm(sigma1 sigma2)")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_from_features(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """Frechet distance between the Gaussians fitted to two feature sets ``(N1,d)``, ``(N2,d)``.

    With fewer samples than dimensions (the usual case per bin: the covariances are singular) it uses the
    exact low-rank identity ``tr((S1 S2)^(1/2)) = ||A B^T||_* / sqrt((N1-1)(N2-1))`` (A, B the centred
    features, ``||.||_*`` the nuclear norm): an N1 x N2 SVD instead of a 2048 x 2048 ``sqrtm`` (~15-50 s on
    2 CPU cores). It agrees with :func:`frechet_distance` to ~1e-8 relative; otherwise that is used.
    """
    f1, f2 = np.asarray(feats1, np.float64), np.asarray(feats2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"feature shapes differ: {f1.shape} vs {f2.shape}")
    (n1, d), n2 = f1.shape, len(f2)
    if n1 < 2 or n2 < 2:
        raise ValueError(f"a Frechet distance needs at least 2 samples per set, got {n1} and {n2}")
    if min(n1, n2) > d:
        return frechet_distance(*_stats(f1), *_stats(f2))
    a, b = f1 - f1.mean(0), f2 - f2.mean(0)
    diff = f1.mean(0) - f2.mean(0)
    tr_covmean = np.linalg.svd(a @ b.T, compute_uv=False).sum() / math.sqrt((n1 - 1) * (n2 - 1))
    tr1, tr2 = (a * a).sum() / (n1 - 1), (b * b).sum() / (n2 - 1)
    return float(diff @ diff + tr1 + tr2 - 2 * tr_covmean)


def fid(real, fake, *, model=None, dims: int = 2048, batch_size: int = 50, device="cpu") -> float:
    """Frechet Inception Distance (Heusel et al. 2017) between two image sets, pytorch-fid's pool3 features.

    ``real``/``fake``: float tensors ``(N,3,H,W)`` in [0,1] or uint8 arrays ``(N,H,W,3)`` (N >= 2 each;
    values are meaningful only for thousands of images). ``model``: any callable with ``model(batch)[0]`` of
    shape ``(N,d,1,1)`` (pytorch-fid's convention), already on ``device``; default :func:`inception`.
    """
    if model is None:
        model = inception(device, dims)
    fr = activations(real, model, batch_size=batch_size, device=device)
    ff = activations(fake, model, batch_size=batch_size, device=device)
    return fid_from_features(fr, ff)


# ----------------------------------------------------------------------------------------------------------
# evaluation over a mask bank (Table 1)
# ----------------------------------------------------------------------------------------------------------
Method = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _item_image(item) -> torch.Tensor:
    if isinstance(item, Mapping):
        item = item["image"]
    elif isinstance(item, (tuple, list)):
        item = item[0]
    t, batched = _as_batch(item)
    if batched:
        raise ValueError(f"dataset items must be single images, got a batch of shape {tuple(t.shape)}")
    return t[0].float()  # (3,H,W)


def _resolve_fid_model(fid_flag, fid_model, device):
    if fid_model is not None:
        return fid_model if fid_flag is not False else None
    if fid_flag is False:
        return None
    if fid_flag is True:
        return inception(device)
    if fid_flag == "auto":
        try:
            return inception(device)
        except FileNotFoundError as err:
            warnings.warn(f"FID skipped: {err}", stacklevel=3)
            return None
    raise ValueError(f"fid must be True, False or 'auto', got {fid_flag!r}")


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


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def evaluate(methods: Mapping[str, Method], images: Sequence, masks: Sequence, *, batch_size: int = 8,
             fid_model=None, fid: bool | str = "auto", device="cpu", progress: bool = True,
             per_image: dict | None = None) -> list[dict]:
    """Table 1 protocol: score each method per mask-ratio bin on 8-bit composites.

    ``methods``: name -> ``f(image (B,3,H,W) float [0,1], mask (B,1,H,W) {0,1}) -> pred (B,3,H,W)``, the raw
    prediction (composited here). Methods receive the *clean* image and must not read its hole pixels.
    ``images``: a sequence/Dataset of ``(3,H,W)`` float tensors (or dicts with ``"image"``); ``masks``: a list
    of ``(H,W)`` {0,1} arrays (e.g. ``gdn.masks.mask_bank``). Mask k is paired with image ``k % len(images)``,
    the same fixed pairing for every method ("a fixed mask order", Table 1).

    Returns one dict per method x bin (``BIN_LABELS`` in order, then ``"all"``) with keys
    ``method, bin, count, l1, psnr, ssim, fid``: means of per-image l1 (%), PSNR (dB; ``inf`` if any image is
    perfect), SSIM, and the FID of that bin's composites against its ground truths; ``l1_lo`` ... ``ssim_hi``
    bound each mean's 95 % bootstrap interval over the image/mask pairs (:func:`gdn.stats.bootstrap_mean`).
    ``per_image``, if a dict, receives name -> {"l1", "psnr", "ssim"} arrays, one score per mask, for paired
    comparisons (:func:`gdn.stats.paired_difference`). Empty bins get NaN; masks
    outside every bin count only in ``"all"``. ``fid``: NaN for fewer than 2 images, ``None`` when not computed.
    ``fid="auto"`` computes FID if ``fid_model`` is given or the Inception weights are present, else warns once;
    ``fid=True`` raises FileNotFoundError for missing weights (before any method runs); ``fid=False`` skips it.
    FID per bin: see :func:`fid_from_features` (fast below 2048 images per bin, one ``sqrtm`` above).
    """
    from tqdm import tqdm

    fid_net = _resolve_fid_model(fid, fid_model, device)
    n_img, n_mask = len(images), len(masks)
    if n_img == 0 or n_mask == 0:
        raise ValueError(f"need at least one image and one mask, got {n_img} images and {n_mask} masks")
    names = list(methods)

    mask_arrays = [(np.asarray(m) > 0.5) for m in masks]
    ratios = np.array([hole_ratio(m) for m in mask_arrays])
    bins = np.array([-1 if (b := ratio_bin(r)) is None else b for r in ratios])

    scores = {name: {"l1": [], "psnr": [], "ssim": []} for name in names}
    fake_feats: dict[str, list[np.ndarray]] = {name: [] for name in names}
    real_feats: list[np.ndarray] = []

    starts = range(0, n_mask, batch_size)
    for start in tqdm(starts, desc="evaluate", disable=not progress):
        idx = range(start, min(start + batch_size, n_mask))
        image = torch.stack([_item_image(images[k % n_img]) for k in idx])  # (b,3,H,W) float32
        mask = torch.stack([torch.from_numpy(mask_arrays[k]) for k in idx])[:, None].float()  # (b,1,H,W)
        if image.shape[-2:] != mask.shape[-2:]:
            raise ValueError(f"masks {tuple(mask.shape[-2:])} and images {tuple(image.shape[-2:])} differ in size")
        gt8 = to_uint8(image)  # (b,3,H,W) uint8
        if fid_net is not None:
            real_feats.append(_features(fid_net, gt8.float() / 255, device))
        for name in names:
            with torch.no_grad():
                pred = methods[name](image.to(device), mask.to(device))
            pred = torch.as_tensor(pred).detach().float().cpu()
            if pred.shape != image.shape:
                raise ValueError(f"method {name!r} returned shape {tuple(pred.shape)}, expected {tuple(image.shape)}")
            comp8 = to_uint8(composite(pred.clamp(0, 1), image, mask))  # (b,3,H,W) uint8
            s = scores[name]
            s["l1"].append(l1(comp8, gt8))
            s["psnr"].append(psnr(comp8, gt8))
            s["ssim"].append(ssim(comp8, gt8))
            if fid_net is not None:
                fake_feats[name].append(_features(fid_net, comp8.float() / 255, device))

    from gdn.stats import bootstrap_mean

    real = np.concatenate(real_feats) if real_feats else None
    groups = [(label, bins == i) for i, label in enumerate(BIN_LABELS)] + [("all", np.ones(n_mask, bool))]
    rows = []
    for name in names:
        scored = {k: np.concatenate(v) for k, v in scores[name].items()}
        if per_image is not None:
            per_image[name] = scored
        fake = np.concatenate(fake_feats[name]) if fid_net is not None else None
        for label, sel in groups:
            count = int(sel.sum())
            row: dict[str, Any] = {"method": name, "bin": label, "count": count}
            for k in ("l1", "psnr", "ssim"):
                row[k] = _mean(scored[k][sel])
                ci = bootstrap_mean(scored[k][sel])
                row[f"{k}_lo"], row[f"{k}_hi"] = ci["lo"], ci["hi"]
            if fid_net is None:
                row["fid"] = None
            elif count < 2:
                row["fid"] = math.nan
            else:
                row["fid"] = fid_from_features(real[sel], fake[sel])
            rows.append(row)
    return rows


ROW_KEYS = ("method", "bin", "count", "l1", "psnr", "ssim", "fid")


def rows_to_csv(rows: Iterable[dict], path) -> Path:
    """Write :func:`evaluate` rows as CSV (missing FID as an empty cell, inf/nan as ``inf``/``nan``)."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ROW_KEYS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def rows_to_json(rows: Iterable[dict], path) -> Path:
    """Write :func:`evaluate` rows as a JSON list; non-finite numbers use Python's ``NaN``/``Infinity``."""
    path = Path(path)
    path.write_text(json.dumps(list(rows), indent=1) + "\n")
    return path


_FORMATS = {"l1": "{:.2f}", "psnr": "{:.2f}", "ssim": "{:.3f}", "fid": "{:.2f}", "count": "{:d}"}


def format_table(rows: Sequence[dict], metric: str = "psnr", fmt: str | None = None) -> str:
    """Pivot :func:`evaluate` rows to a plain-text method x bin table of one metric (Table 1 layout)."""
    fmt = fmt or _FORMATS.get(metric, "{:.4g}")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    bins = list(dict.fromkeys(r["bin"] for r in rows))
    cell = {(r["method"], r["bin"]): r.get(metric) for r in rows}

    def show(v) -> str:
        if v is None:
            return "-"
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        return fmt.format(v)

    header = [metric] + bins
    body = [[m] + [show(cell.get((m, b))) for b in bins] for m in methods]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    lines = ["  ".join(s.ljust(w) if i == 0 else s.rjust(w) for i, (s, w) in enumerate(zip(line, widths)))
             for line in [header] + body]
    return "\n".join(lines)
