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

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["biharmonic", "telea", "mean_colour", "valid_mean", "push_pull", "harmonic", "spline", "BASELINES",
           "SOLVERS"]


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
    from skimage.restoration import inpaint_biharmonic

    return _per_image(lambda img, hole: inpaint_biharmonic(img, hole, channel_axis=-1), image, mask)


def telea(image: torch.Tensor, mask: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Fast-marching inpainting of Telea (2004) via ``cv2.inpaint(..., cv2.INPAINT_TELEA)`` on 8-bit images.

    ``radius``: neighbourhood (pixels) each filled pixel averages over. Milliseconds per 256 px image.
    """
    import cv2

    def run(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
        img8 = np.round(img * 255).astype(np.uint8)
        filled = cv2.inpaint(img8, hole.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
        return filled.astype(np.float64) / 255.0

    return _per_image(run, image, mask)


def valid_mean(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean colour of each image's valid pixels (mask 0): (B,3,1,1); an all-hole image gives 0."""
    keep = 1 - mask  # (B,1,H,W), 1 = valid
    return (image * keep).sum(dim=(-2, -1), keepdim=True) / keep.sum(dim=(-2, -1), keepdim=True).clamp_min(1.0)


def mean_colour(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill each hole with the mean colour of the image's valid pixels: the floor a learned method must clear."""
    return valid_mean(image, mask).expand_as(image).clone()  # (B,3,H,W)


def _pyramid(image: torch.Tensor, mask: torch.Tensor, levels: int | None = None
             ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    # push: the valid pixels' sums and shares over 2x2 cells, [(num, den)] fine to coarse; down to one pixel, or
    # exactly `levels` levels: a loop count that does not depend on the image's size, which an ONNX graph with
    # dynamic height and width needs (the top is then one pixel up to 2**(levels-1) px, a few cells above)
    keep = 1 - mask  # (B,1,H,W), 1 = valid
    num, den = image * keep, keep
    out = [(num, den)]
    while (min(num.shape[-2:]) > 1) if levels is None else (len(out) < levels):
        num = F.avg_pool2d(num, 2, ceil_mode=True)
        den = F.avg_pool2d(den, 2, ceil_mode=True)
        out.append((num, den))
    return out


def _top(image: torch.Tensor, mask: torch.Tensor, num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # the pyramid's top level: each cell's own average, the image's mean colour in a cell without valid pixels
    return torch.where(den > 0, num / den.clamp_min(1e-12), valid_mean(image, mask))


def _neighbour_mean(x: torch.Tensor) -> torch.Tensor:
    # the mean of each pixel's 4 neighbours, the border replicated: sums of shifted slices, 2.5x faster on the
    # CPU than the equivalent depthwise 3x3 convolution at large sizes
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]) * 0.25


def _pull(image: torch.Tensor, mask: torch.Tensor, gain: float, iters: int, levels: int | None = None
          ) -> torch.Tensor:
    if image.ndim == 3:  # one image (3,H,W) with its (1,H,W) mask
        return _pull(image[None], mask[None], gain, iters, levels)[0]
    pyramid = _pyramid(image, mask, levels)
    fill = _top(image, mask, *pyramid[-1])  # (B,C,h,w) at the top: (B,C,1,1), the mean colour, when it is 1 px
    for num, den in reversed(pyramid[:-1]):
        up = F.interpolate(fill, size=num.shape[-2:], mode="bilinear", align_corners=False)
        w = (den * gain).clamp(max=1.0)  # 1 where a cell has enough valid pixels to keep its own average
        own = num / den.clamp_min(1e-6)
        fill = w * own + (1 - w) * up
        fixed, free = w * own, 1 - w
        for _ in range(iters):  # Jacobi steps of Laplace's equation on the cells that took the coarser fill
            fill = torch.addcmul(fixed, free, _neighbour_mean(fill))
    return fill


def push_pull(image: torch.Tensor, mask: torch.Tensor, gain: float = 16.0) -> torch.Tensor:
    """A training-free fill of the holes from their surroundings (push-pull interpolation): average the valid
    pixels over a pyramid of 2x2 cells down to one pixel (push), then, from the coarsest level up, keep each
    cell's own average where it has enough valid pixels and the upsampled coarser fill elsewhere (pull).
    Valid pixels come back unchanged; (B,C,H,W) in, (B,C,H,W) out. ``gain``: a cell whose valid share is
    1/gain or more keeps its own average. No weights; differentiable; any H, W."""
    return _pull(image, mask, gain, iters=0)


def harmonic(image: torch.Tensor, mask: torch.Tensor, iters: int = 10, gain: float = 16.0,
             levels: int | None = None) -> torch.Tensor:
    """Harmonic inpainting (each hole pixel the mean of its four neighbours: Laplace's equation with the hole's
    border as boundary condition), solved coarse to fine: :func:`push_pull`'s pull with ``iters`` Jacobi steps
    at every level, each level starting from the coarser one's solution (a multigrid-style cascade), so a few
    steps per level suffice. Valid pixels come back unchanged; (B,C,H,W) in and out; no weights, batched,
    differentiable. Smoother than push-pull's blocks and close to :func:`biharmonic` (the Training chapter
    scores the three), at the cost of ``iters`` small convolutions per level. ``levels``: a fixed pyramid depth
    (see :data:`LEVELS`) instead of one down to a single pixel."""
    return _pull(image, mask, gain, iters, levels)


LEVELS = 8  # the spline's pyramid depth: one pixel at the top up to 128 px, the generator's working scale; fixed,
#            so that an exported generator's graph fits every image size
TENSION = 0.3  # spline's default tension, per pixel^2 (chosen on the validation photos: the Generalisation chapter)
SPARSE_FROM = 160 * 160  # image pixels from which spline(solver="auto") may solve on the hole's cells alone
SPARSE_SHARE = 0.45  # ... when the holes are at most this share of them: the sparse steps cost about 2.2x the dense
#                      ones per cell (1 thread: 512 px, 13 % holes 0.35 s against 0.92; 43 % holes 0.92 against 1.04)
SOLVERS = ("auto", "dense", "sparse")


def spline(image: torch.Tensor, mask: torch.Tensor, tension: float = TENSION, iters: int = 20,
           levels: int | None = None, solver: str = "auto") -> torch.Tensor:
    """A thin-plate spline under tension: the hole pixels solve ``(Delta^2 - tension Delta) u = 0`` with the
    valid pixels as boundary values (Schweikert 1966; Smith and Wessel, Geophysics 1990). ``tension`` 0 is
    :func:`biharmonic` (smooth, continues the border's gradient into the hole, overshoots on a noisy border);
    a large one tends to :func:`harmonic` (no overshoot, but a crease at the border); between the two, per pixel
    of the image at hand, it beats both on the validation photos (Generalisation chapter).

    Solved coarse to fine over :func:`push_pull`'s pyramid (``levels`` deep, :data:`LEVELS` by default): a cell
    with any valid pixel keeps its valid pixels' average, the others start from the coarser level's solution and
    take ``min(iters, 2**k)`` conjugate-gradient steps (``k`` = the level's rank below the top) of the discrete
    system (the 5-point Laplacian with Neumann borders, applied twice: symmetric positive definite on the hole
    pixels). Weights-free; (B,C,H,W) in and out, valid pixels unchanged, clamped to [0,1].

    Two solvers of the same system, the same steps and the same result (to float rounding):
    ``"dense"`` applies the operator to every pixel of every level (convolutions and reductions only, in a
    number that does not depend on the image's size: batched, differentiable and exportable, the form inside the
    generator); ``"sparse"`` applies it to the hole's cells and the two rings of neighbours the operator reads
    (:class:`_HoleStencil`), so its cost follows the holes, not the photo: what a full-resolution anchor needs
    (the dense passes over a 2048 px photo take 25 s on 2 cores). ``"auto"``: sparse from :data:`SPARSE_FROM`
    pixels with holes up to :data:`SPARSE_SHARE` of them, when no gradient or graph export needs the dense form."""
    if image.ndim == 3:  # one image (C,H,W) with its (1,H,W) mask
        return spline(image[None], mask[None], tension, iters, levels, solver)[0]
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if solver == "auto":
        traced = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
        graph = torch.is_grad_enabled() and (image.requires_grad or mask.requires_grad)
        sparse = not (traced or graph) and image.shape[-2] * image.shape[-1] >= SPARSE_FROM \
            and float(mask.mean()) <= SPARSE_SHARE
        solver = "sparse" if sparse else "dense"
    solve = _solve_sparse if solver == "sparse" else _solve_dense
    pyramid = _pyramid(image, mask, LEVELS if levels is None else levels)
    x = _top(image, mask, *pyramid[-1])  # (B,C,h,w): (B,C,1,1), the mean colour, at a 1 px top
    for k, (num, den) in enumerate(reversed(pyramid[:-1])):
        up = F.interpolate(x, size=num.shape[-2:], mode="bilinear", align_corners=False)
        x = torch.where(den > 0, num / den.clamp_min(1e-12), up)  # known cells: their average; others: the coarser
        x = solve(x, den == 0, tension, min(iters, 2 ** k))  # a level of side n converges in about n steps
    return x.clamp(0, 1)  # the spline overshoots a little at sharp borders; pixels stay pixels


def _cg(apply, x: torch.Tensor, r: torch.Tensor, steps: int, dot) -> torch.Tensor:
    # conjugate gradients from x with residual r (zero off the unknowns): one system per image and channel
    p, rr = r, dot(r, r)
    for _ in range(steps):
        ap = apply(p)
        a = rr / dot(p, ap).clamp_min(1e-30)
        x = x.addcmul(a, p)
        r = r.addcmul(a, ap, value=-1)
        rr_next = dot(r, r)
        p = torch.addcmul(r, rr_next / rr.clamp_min(1e-30), p)
        rr = rr_next
    return x


def _solve_dense(x: torch.Tensor, unknown: torch.Tensor, tension: float, steps: int) -> torch.Tensor:
    """``steps`` CG steps of the spline's system on the ``unknown`` (B,1,h,w) cells of ``x`` (B,C,h,w), applying
    the operator to every cell."""
    unknown = unknown.to(x.dtype)

    def laplacian(p: torch.Tensor) -> torch.Tensor:  # the 5-point Laplacian, Neumann borders
        return 4 * (_neighbour_mean(p) - p)

    def operator(p: torch.Tensor) -> torch.Tensor:  # (Delta^2 - tension Delta) p
        inner = laplacian(p)
        return laplacian(inner) - tension * inner

    def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # (B,C,1,1)
        return (a * b).sum(dim=(-2, -1), keepdim=True)

    return _cg(lambda p: operator(p) * unknown, x, -operator(x) * unknown, steps, dot)


class _HoleStencil:
    """The spline's operator on the unknown cells of one (h, w) grid alone. Cells are numbered unknowns first,
    then the ring of their 4-neighbours (where the inner Laplacian is needed), then the ring around that (read by
    it): ``(Delta^2 - t Delta) v`` at the unknowns reads ``v`` on those three sets only. A neighbour across the
    grid's edge is the cell itself (the Neumann border of the dense form)."""

    def __init__(self, unknown: np.ndarray):
        h, w = unknown.shape
        ring1 = _grow(unknown) & ~unknown
        ring2 = _grow(unknown | ring1) & ~(unknown | ring1)
        self.cells = np.concatenate([np.flatnonzero(unknown), np.flatnonzero(ring1), np.flatnonzero(ring2)])
        self.n0, self.n1 = int(unknown.sum()), int(unknown.sum() + ring1.sum())
        index = np.full(h * w, -1, dtype=np.int64)
        index[self.cells] = np.arange(len(self.cells))
        y, x = np.divmod(self.cells[:self.n1], w)  # the cells whose Laplacian is needed
        around = np.stack([index[a] for a in (np.maximum(y - 1, 0) * w + x, np.minimum(y + 1, h - 1) * w + x,
                                             y * w + np.maximum(x - 1, 0), y * w + np.minimum(x + 1, w - 1))])
        # (4*n,) each: the 4 neighbours, side by side (a sum over the leading axis adds whole slabs: fast)
        self.around = {n: torch.from_numpy(around[:, :n].reshape(-1)) for n in (self.n0, self.n1)}

    def laplacian(self, v: torch.Tensor, n: int) -> torch.Tensor:
        # (n,C): the Laplacian at the first n cells (n0 or n1) of v
        g = v.index_select(0, self.around[n]).view(4, n, -1)
        return (g[0] + g[1]).add_(g[2]).add_(g[3]).sub_(v[:n], alpha=4)

    def operator(self, v: torch.Tensor, tension: float) -> torch.Tensor:
        # v (n2,C) over every cell -> (n0,C) at the unknowns
        inner = self.laplacian(v, self.n1)
        return self.laplacian(inner, self.n0) - tension * inner[:self.n0]


def _grow(a: np.ndarray) -> np.ndarray:
    # a and its 4-neighbours
    out = a.copy()
    out[1:] |= a[:-1]
    out[:-1] |= a[1:]
    out[:, 1:] |= a[:, :-1]
    out[:, :-1] |= a[:, 1:]
    return out


def _solve_sparse(x: torch.Tensor, unknown: torch.Tensor, tension: float, steps: int) -> torch.Tensor:
    """:func:`_solve_dense`'s steps on the unknown cells and their two rings alone (:class:`_HoleStencil`)."""
    out = x.clone()
    B, C, h, w = x.shape
    for b in range(B):
        cells = unknown[b, 0].cpu().numpy()
        if not cells.any():
            continue
        st = _HoleStencil(cells)
        flat = x[b].reshape(C, h * w)
        cells_t = torch.from_numpy(st.cells).to(x.device)
        v = flat.index_select(1, cells_t).T.contiguous()  # (n2,C): the unknowns, then the rings (fixed)
        zeros = torch.zeros(len(st.cells) - st.n0, C, dtype=x.dtype, device=x.device)

        def apply(p: torch.Tensor) -> torch.Tensor:  # the operator on p (n0,C), zero on the rings
            return st.operator(torch.cat([p, zeros]), tension)

        def dot(a: torch.Tensor, b_: torch.Tensor) -> torch.Tensor:  # (C,)
            return (a * b_).sum(0)

        u = _cg(apply, v[:st.n0], -st.operator(v, tension), steps, dot)  # (n0,C)
        out[b].view(C, h * w)[:, cells_t[:st.n0]] = u.T
    return out


BASELINES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "biharmonic": biharmonic,
    "telea": telea,
    "mean colour": mean_colour,
    "push-pull": push_pull,
    "harmonic": harmonic,
    "spline": spline,
}
