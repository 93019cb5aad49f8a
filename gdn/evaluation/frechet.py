"""FID (Heusel et al. 2017) with pytorch-fid's Inception, whose weights are never downloaded here.

The weights are read from the torch hub cache (:func:`fid_weights_path`); without them :func:`inception`
raises one ``FileNotFoundError`` that says where to put the file. Tests use a small stand-in network.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg

from gdn.evaluation.scores import as_batch

__all__ = ["FID_WEIGHTS_NAME", "FID_WEIGHTS_URL", "fid_weights_path", "inception", "features", "activations",
           "frechet_distance", "fid_from_features", "fid", "resolve_fid_model"]

# Same name and URL as pytorch_fid.inception.FID_WEIGHTS_URL (0.3.0); kept here so that checking for the
# file does not import torchvision.
FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FID_WEIGHTS_NAME}"
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


def features(model, x: torch.Tensor, device) -> np.ndarray:
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
        take = lambda i, j: as_batch(images[i:j])[0]  # noqa: E731
    else:
        images = list(images)
        n = len(images)
        take = lambda i, j: torch.cat([as_batch(im)[0] for im in images[i:j]])  # noqa: E731
    feats = [features(model, take(i, min(i + batch_size, n)), device) for i in range(0, n, batch_size)]
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


def resolve_fid_model(fid_flag, fid_model, device):
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
