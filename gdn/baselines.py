"""Classical, training-free inpainting baselines usable as ``gdn.evaluation.evaluate`` methods.

All run offline on the CPU (the two classical ones one image at a time) and follow the method signature of
:func:`gdn.evaluation.evaluate`: ``f(image (B,3,H,W) float [0,1], mask (B,1,H,W) {0,1}, 1 = hole) -> (B,3,H,W)``.
Unbatched ``(3,H,W)`` / ``(1,H,W)`` inputs are accepted too and give an unbatched result.
The hole pixels are overwritten with white (the contract's corrupted input, paper Sec. 3.1) before
inpainting, so no ground truth can leak through them whatever the library does inside.

Measured speed per 256x256 RGB image on 2 CPU cores (scikit-image 0.26, OpenCV 4.14; photos from
``skimage.data``): with ``gdn.masks.mask_bank`` free-form masks, ``telea`` takes 0.05-0.12 s and
``biharmonic`` 0.15 s at 7 % holes, ~0.3 s at 20 %, ~0.5 s at 35 % and ~0.85 s at 55-60 % (it solves one
sparse system per connected hole; blob masks are ~3x cheaper), i.e. about 5 minutes for a 600-mask bank.

References: Telea, "An image inpainting technique based on the fast marching method", JGT 2004
(``cv2.INPAINT_TELEA``); Damelin & Hoang, "On surface completion and image inpainting by biharmonic
functions", 2018 (``skimage.restoration.inpaint_biharmonic``).
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np
import torch
from skimage.restoration import inpaint_biharmonic

__all__ = ["biharmonic", "telea", "mean_colour", "BASELINES"]


def _per_image(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], image: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:
    """Apply ``fn(hwc float64 [0,1] with white holes, hw bool hole) -> hwc float [0,1]`` to each image."""
    single = image.ndim == 3
    if single:
        image, mask = image[None], mask[None]
    if mask.ndim == 3:  # (B,H,W)
        mask = mask[:, None]
    if mask.shape[0] != image.shape[0] or mask.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"mask {tuple(mask.shape)} does not match image {tuple(image.shape)}")
    img = image.detach().cpu().double().permute(0, 2, 3, 1).numpy()  # (B,H,W,3)
    hole = mask.detach().cpu()[:, 0].numpy() > 0.5  # (B,H,W)
    out = np.empty_like(img)
    for k in range(len(img)):
        corrupted = np.where(hole[k][..., None], 1.0, img[k])
        out[k] = corrupted if not hole[k].any() else np.clip(fn(corrupted, hole[k]), 0.0, 1.0)
    result = torch.from_numpy(out).permute(0, 3, 1, 2).to(device=image.device, dtype=image.dtype)
    return result[0] if single else result  # (B,3,H,W) or (3,H,W)


def biharmonic(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Biharmonic inpainting (``skimage.restoration.inpaint_biharmonic``, ``channel_axis=-1``).

    Smooth fills; slow: seconds per 256 px image at large hole ratios (see module docstring).
    """
    return _per_image(lambda img, hole: inpaint_biharmonic(img, hole, channel_axis=-1), image, mask)


def telea(image: torch.Tensor, mask: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Fast-marching inpainting of Telea (2004) via ``cv2.inpaint(..., cv2.INPAINT_TELEA)`` on 8-bit images.

    ``radius``: neighbourhood (pixels) each filled pixel averages over. Milliseconds per 256 px image.
    """
    def run(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
        img8 = np.round(img * 255).astype(np.uint8)
        filled = cv2.inpaint(img8, hole.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
        return filled.astype(np.float64) / 255.0

    return _per_image(run, image, mask)


def mean_colour(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill each hole with the mean colour of the image's valid pixels: the floor a learned method must clear."""
    valid = 1 - mask  # (B,1,H,W)
    mean = (image * valid).sum(dim=(-2, -1), keepdim=True) / valid.sum(dim=(-2, -1), keepdim=True).clamp_min(1)
    return mean.expand_as(image).clone()  # (B,3,H,W)


BASELINES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "biharmonic": biharmonic,
    "telea": telea,
    "mean colour": mean_colour,
}
