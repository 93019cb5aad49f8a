"""Images for training and evaluation: reading, the paper's resizing, folders, built-in photos, masked pairs.

Paper Sec. 4.1: images (and masks) are resized to 256 x 256; the official code (EdgeConnect's loader,
reference/official_gdn.md Sec. 12.5) centre-crops to a square first. Batches are LaMa-style dicts:
``{"image": (B,3,H,W) float [0,1], "mask": (B,1,H,W) float {0,1}, 1 = hole}`` (contract: Conventions).
"""
from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from gdn.files import list_files
from gdn.imageio import IMAGE_EXTS, header_problem, load_rgb8
from gdn.masks import check_mask, random_mask, resize_mask

__all__ = [
    "TRAIN_PHOTOS", "VAL_PHOTOS", "TEST_PHOTOS", "SPLITS", "photo", "to_square", "to_tensor",
    "ImageFolder", "BuiltinPhotos", "InpaintingDataset", "AUGMENTS", "colour_jitter", "SHIFTS", "colour_shift",
]

# --------------------------------------------------------------------------------------------------------
# Single images
# --------------------------------------------------------------------------------------------------------

def to_square(img: np.ndarray, size: int) -> np.ndarray:
    """The paper's resizing (Sec. 4.1): centre-crop to a square, then resize to ``size`` x ``size``.

    Resizing uses PIL's bicubic filter, which widens its support when shrinking (antialiased), so large
    photos do not alias. ``img`` is (H, W, 3) or (H, W) uint8; the result has the same dtype and channels.
    """
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = img[top:top + side, left:left + side]
    if side == size:
        return np.array(img)  # a copy: callers may get a view of a cached, read-only photo
    out = Image.fromarray(np.ascontiguousarray(img)).resize((size, size), Image.Resampling.BICUBIC)
    return np.array(out)


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H,W,3) uint8 -> (3,H,W) float32 tensor in [0,1]."""
    return torch.from_numpy(np.require(img, requirements=["C", "W"])).permute(2, 0, 1).float().div_(255.0)


# --------------------------------------------------------------------------------------------------------
# Folders and lists
# --------------------------------------------------------------------------------------------------------

class ImageFolder(Dataset):
    """Images of a folder (recursive, sorted) or a list, centre-cropped and resized to ``size`` (Sec. 4.1).

    ``source`` is a folder, a text file with one path per line (relative paths relative to the list's
    folder), a python list of paths, or one image file. Every file's header is checked at construction
    (``PIL.Image.open``, no decoding); unreadable files are skipped with one warning each, listed in
    ``.skipped`` and counted in a summary warning. A file that passes the header check but fails to decode
    later (e.g. truncated) is skipped when met, with a warning naming it, and the next readable file is
    returned in its place. Items are (3, size, size) float tensors in [0, 1].

    With DataLoader workers each worker keeps its own ``.skipped``; the warnings still name every file.
    """

    def __init__(self, source, size: int = 256, *, exts: Sequence[str] = IMAGE_EXTS):
        self.source = source
        self.size = int(size)
        candidates = list_files(source, exts, what="image")
        self.skipped: list[Path] = []
        self.files: list[Path] = []
        for f in candidates:
            reason = header_problem(f)
            if reason is None:
                self.files.append(f)
            else:
                self.skipped.append(f)
                warnings.warn(f"{f}: skipped, cannot read image ({reason})", stacklevel=2)
        where = source if isinstance(source, (str, Path)) else "the list"
        if self.skipped:
            warnings.warn(f"skipped {len(self.skipped)} of {len(candidates)} files in {where}: unreadable",
                          stacklevel=2)
        if not self.files:
            raise ValueError(f"{where}: no readable image among {len(candidates)} files")
        self._bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        n = len(self.files)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} images")
        index %= n
        for k in range(n):
            i = (index + k) % n
            if i in self._bad:
                continue
            try:
                img = load_rgb8(self.files[i])  # (H,W,3) uint8
            except ValueError as e:
                self._bad.add(i)
                self.skipped.append(self.files[i])
                warnings.warn(f"{e}; skipped, using the next readable image", stacklevel=2)
                continue
            return to_tensor(to_square(img, self.size))  # (3,size,size) float [0,1]
        raise RuntimeError(f"{self.source}: none of the {n} images could be decoded")


# --------------------------------------------------------------------------------------------------------
# Built-in photos (scikit-image, offline)
# --------------------------------------------------------------------------------------------------------

# Three disjoint sets of scenes: train, validation (every recipe choice and the in-training checks), test (read
# only by the book's final evaluation). `cat` is the same photo as `chelsea`, and the two stereo_motorcycle views
# are one scene (both kept in train). Only photos bundled in installed wheels (reference/toolchain.md Sec. 5):
# scikit-image's, matplotlib's Grace Hopper and scikit-learn's two sample photos; synthetic images (colorwheel,
# logo, checkerboard, binary_blobs, shepp_logan_phantom, horse), scanned text (text, page) and tiny ones
# (lfw_subset, microaneurysms) are left out. Gray photos are repeated to three channels.
TEST_PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea")
# Validation: scikit-learn's two sample photos, a palace among trees by a lake and a dahlia on dark leaves:
# greens, blues and sky, which the training photos (red microscopy, a retina, astronomy, gray) hardly have, so a
# colour prior learned from the training set shows here as it does on new photos.
VAL_PHOTOS: tuple[str, ...] = ("china", "flower")
TRAIN_PHOTOS: tuple[str, ...] = (
    # RGB; grace_hopper is matplotlib's sample photo (a core dependency), the only other colour portrait offline
    "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
    "stereo_motorcycle_left", "stereo_motorcycle_right", "grace_hopper",
    # gray natural photos
    "camera", "moon", "coins", "clock", "brick", "grass", "gravel", "cell",
)
SPLITS: dict[str, tuple[str, ...]] = {"train": TRAIN_PHOTOS, "val": VAL_PHOTOS, "test": TEST_PHOTOS}

_PHOTOS: dict[str, np.ndarray] = {}
_PHOTOS_LOCK = threading.Lock()


def photo(name: str) -> np.ndarray:
    """(H,W,3) uint8 RGB of a bundled scikit-image photo, decoded once per process."""
    with _PHOTOS_LOCK:
        img = _PHOTOS.get(name)
        if img is None:
            import skimage.data

            if name.startswith("stereo_motorcycle_"):
                left, right, _ = skimage.data.stereo_motorcycle()
                img = left if name.endswith("left") else right
            elif name in ("china", "flower"):
                from sklearn.datasets import load_sample_image

                img = load_sample_image(f"{name}.jpg")
            elif name == "grace_hopper":
                from matplotlib import cbook

                img = load_rgb8(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
            else:
                img = getattr(skimage.data, name)()
            img = np.asarray(img)
            if img.ndim == 2:
                img = np.repeat(img[:, :, None], 3, axis=2)
            img = _PHOTOS[name] = np.ascontiguousarray(img[:, :, :3].astype(np.uint8))
            img.setflags(write=False)
        return img


class BuiltinPhotos(Dataset):
    """A small offline dataset of random crops of the bundled photos.

    ``split`` is ``"train"``, ``"val"`` or ``"test"`` (``SPLITS``: disjoint scenes). Item ``i`` is photo
    ``i % len(photos)`` (so every photo is used equally), cropped to a square whose side is uniform in ``scale``
    x the photo's short side at a uniform position, flipped horizontally with probability 1/2 (train only), and
    resized to ``size`` (PIL bicubic, antialiased). The crop depends only on (seed, split, i), so items are
    reproducible in any order, process or worker. Items are (3, size, size) float tensors in [0, 1]; ``len`` is
    ``n``.
    """

    SCALE = (0.35, 1.0)  # the crop's side as a share of the photo's shorter side: from a detail to the whole

    def __init__(self, split: str = "train", size: int = 256, n: int = 64, seed: int = 0, *,
                 scale: tuple[float, float] = SCALE):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {tuple(SPLITS)}, got {split!r}")
        if n <= 0:
            raise ValueError(f"n must be positive, got {n}")
        if not 0.0 < scale[0] <= scale[1] <= 1.0:
            raise ValueError(f"scale must satisfy 0 < lo <= hi <= 1, got {scale!r}")
        self.split, self.size, self.n, self.seed, self.scale = split, int(size), int(n), int(seed), scale
        self.photos = SPLITS[split]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for {self.n} items")
        i %= self.n
        img = photo(self.photos[i % len(self.photos)])  # (H,W,3) uint8
        rng = np.random.default_rng((self.seed, {"train": 0, "test": 1, "val": 2}[self.split], i))
        h, w = img.shape[:2]
        lo, hi = self.scale
        side = max(1, int(round(min(h, w) * (lo + (hi - lo) * rng.random()))))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        flip = rng.random() < 0.5
        crop = img[top:top + side, left:left + side]
        if self.split == "train" and flip:
            crop = crop[:, ::-1]
        return to_tensor(to_square(crop, self.size))  # (3,size,size) float [0,1]


# --------------------------------------------------------------------------------------------------------
# Image + mask pairs
# --------------------------------------------------------------------------------------------------------

class InpaintingDataset(Dataset):
    """Image/mask pairs as dicts ``{"image": (3,H,W) float [0,1], "mask": (1,H,W) float {0,1}, 1 = hole}``.

    ``images`` is any dataset of (3,H,W) tensors (or (H,W,3) uint8 arrays). With ``masks=None`` every item
    gets a fresh :func:`gdn.masks.random_mask` (paper Sec. 4.1) with ratio in ``ratio_range``, drawn from
    an rng seeded by (seed, epoch, index): a resumed run sees the same masks; call :meth:`set_epoch` at the
    start of each epoch (before creating the DataLoader iterator, so workers see it). With a list of
    arrays, item ``i`` gets ``masks[i % len(masks)]`` -- a fixed pairing for evaluation -- resized and
    re-binarised at 0.5 if its size differs from the image's. With ``shuffle_masks=True`` (training on an
    external mask set) item ``i`` gets a mask drawn by the same (seed, epoch, index) rng instead, so images
    and masks are not paired the same way each epoch (the official code streams them independently). An
    object with ``draw(rng, (H,W))`` (:class:`gdn.mask_sets.QuickDrawMasks`) makes each item's mask from that rng.
    """

    def __init__(self, images, masks=None, *, seed: int = 0, ratio_range: tuple[float, float] = (0.01, 0.6),
                 shuffle_masks: bool = False, augment: str = "none"):
        self.images = images
        # a mask source (``draw(rng, (H,W)) -> mask``, e.g. gdn.mask_sets.QuickDrawMasks) or a list of masks
        self.source = masks if hasattr(masks, "draw") else None
        self.masks = None if masks is None or self.source is not None else list(masks)
        if self.masks is not None and not self.masks:
            raise ValueError("masks is an empty list; pass None for random masks")
        self.seed = int(seed)
        self.ratio_range = (float(ratio_range[0]), float(ratio_range[1]))
        self.epoch = 0
        self.shuffle_masks = bool(shuffle_masks)
        if augment not in AUGMENTS:
            raise ValueError(f"unknown augment {augment!r}; choose one of {AUGMENTS}")
        self.augment = augment

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = self.images[index]
        if isinstance(image, dict):
            image = image["image"]
        if isinstance(image, np.ndarray):
            image = to_tensor(image) if image.dtype == np.uint8 else torch.from_numpy(image).permute(2, 0, 1)
        image = image.float()
        h, w = image.shape[-2:]
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        if self.source is not None:
            m = self.source.draw(rng, (h, w))  # (H,W) uint8, 1 = hole
        elif self.masks is None:
            m = random_mask((h, w), rng, self.ratio_range)  # (H,W) uint8, 1 = hole
        else:
            k = int(rng.integers(len(self.masks))) if self.shuffle_masks else int(index) % len(self.masks)
            m = self.masks[k]
            m = m.detach().cpu().numpy() if hasattr(m, "detach") else np.asarray(m)
            m = np.squeeze(m)
            check_mask(m, name=f"mask {k}")
            if m.shape != (h, w):
                m = resize_mask(m, (h, w))
        mask = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None]  # (1,H,W) float {0,1}
        if self.augment == "colour":
            image = colour_jitter(image, rng)
        return {"image": image, "mask": mask}


AUGMENTS = ("none", "colour")


def colour_jitter(image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Colour-symmetric augmentation for small training sets (cpu profile, not in the paper): a random order of
    the three channels, a rotation of the hue by an angle uniform in [0, 360) degrees (a rotation of RGB about
    its gray axis), a saturation gain log-uniform in [1/2, 2] (about each pixel's gray level), clipped to
    [0, 1], and with probability 1/2 the photo's levels inverted (1 - x). Every change is as likely as its
    inverse, so the training photos' palette (red microscopy, a retina, gray photos) and their skew (bright
    stars, coins and cells on dark ground: an L1 loss learns to fill darker than the surroundings' mean)
    average out to no preference. (3,H,W) in and out; gray stays gray."""
    rotation = _hue_rotation(rng.uniform(0, 2 * np.pi)).numpy()[rng.permutation(3)]  # then a random channel order
    saturation = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    out = torch.einsum("oc,chw->ohw", torch.as_tensor(rotation, dtype=image.dtype), image)
    gray = out.mean(dim=0, keepdim=True)  # (1,H,W)
    out = (gray + saturation * (out - gray)).clamp(0, 1)  # (3,H,W)
    return 1 - out if rng.random() < 0.5 else out


def _hue_rotation(t: float) -> torch.Tensor:
    # Rodrigues' rotation of RGB by t radians about its gray axis (1,1,1)/sqrt(3): (3,3) float64
    u = np.full(3, 1 / np.sqrt(3))
    cross = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    return torch.as_tensor(np.cos(t) * np.eye(3) + np.sin(t) * cross + (1 - np.cos(t)) * np.outer(u, u))


SHIFTS = ("hue+90", "bgr")  # the validation's colour-shifted copies: a 90-degree hue rotation, channels reversed


def colour_shift(image: torch.Tensor, kind: str) -> torch.Tensor:
    """A colour-shifted copy of a batch (B,3,H,W) in [0,1], for validation: ``"hue+90"`` rotates the hue by
    90 degrees (clipped to [0, 1]), ``"bgr"`` reverses the channel order. A fill that learned a palette scores
    worse on them than on the photos themselves; one that takes its colours from the photo does not."""
    if kind == "bgr":
        return image.flip(1)
    if kind == "hue+90":
        return torch.einsum("oc,bchw->bohw", _hue_rotation(np.pi / 2).to(image), image).clamp(0, 1)
    raise ValueError(f"unknown colour shift {kind!r}; choose one of {SHIFTS}")
