"""The training data of a run: its datasets, the order it sees them in, and one loader for the whole run.

The order depends only on (seed, epoch) and each sample's mask only on (seed, epoch, index), so a resumed run
sees what an uninterrupted one would. One ``DataLoader`` serves every epoch of a run: its sampler yields
``(epoch, index)`` keys, so the worker processes start once, keep their decoded photos, and keep prefetching
across epoch boundaries (a loader per epoch would restart them, and leave the GPU idle while they start and
decode the photos again, every epoch: every 256 steps with the built-in photos).

    gdn bench --loader --profile paper        # images/s of this loader alone (GPU training needs ~1,500)
"""
from __future__ import annotations

import itertools
import time
from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from gdn.config import Config

__all__ = ["VAL_SEED", "TEST_SEED", "content_side", "build_train_set", "build_val_images", "build_test_images", "EpochSampler", "run_loader",
           "workers", "loader_throughput"]


def content_side(cfg: Config) -> int:
    """The shorter side a whole photo had at the scale a config's generator was trained at, so the side a
    larger photo is brought down to for it (:mod:`gdn.engine.scales`). A folder's images were brought whole
    to ``size`` (the paper's resizing): ``size``. The built-in photos were cropped to a square of a uniform
    share of their shorter side (``BuiltinPhotos``' scale) brought to ``size``: a photo's shorter side was
    ``size / share``, at the middle share ``size / 0.675`` (95 px for 64 px crops)."""
    from gdn.data import BuiltinPhotos

    if cfg.train_data != "builtin":
        return cfg.size
    lo, hi = BuiltinPhotos.SCALE
    return round(cfg.size / ((lo + hi) / 2))


def build_train_set(cfg: Config) -> Dataset:
    """Training pairs ``{"image", "mask"}``: the built-in photos or a folder/list, with random irregular
    masks or masks drawn from a folder/list."""
    from gdn.data import BuiltinPhotos, ImageFolder, InpaintingDataset
    from gdn.masks import load_masks

    if cfg.train_data == "builtin":
        images = BuiltinPhotos("train", size=cfg.size, n=cfg.builtin_train, seed=cfg.seed)
    else:
        images = ImageFolder(cfg.train_data, size=cfg.size)
    from gdn.mask_sets import QD_PREFIX, QuickDrawMasks

    if cfg.train_masks.startswith(QD_PREFIX):  # drawn and processed per item (a source, not a list)
        masks = QuickDrawMasks(cfg.train_masks[len(QD_PREFIX):])
    elif cfg.train_masks == "random":
        masks = None
    else:
        masks = load_masks(cfg.train_masks, cfg.size, invert=cfg.invert_masks)
    return InpaintingDataset(images, masks, seed=cfg.seed, shuffle_masks=masks is not None, augment=cfg.augment)


# The validation pairs (the built-in photos' crops, the in-training mask bank) are drawn with the default seed
# whatever the run's own: every seed of a run is then checked on the same pairs, and a band over seeds is the
# seeds' spread, not the pairs'.
VAL_SEED = Config.seed


def build_val_images(cfg: Config) -> Dataset:
    """The validation images (in-training checks and every recipe choice; never a test photo): the built-in
    validation photos (their crops drawn with :data:`VAL_SEED`), or ``cfg.val_data``."""
    from gdn.data import BuiltinPhotos, ImageFolder

    if cfg.val_data == "builtin":
        return BuiltinPhotos("val", size=cfg.size, n=cfg.builtin_test, seed=VAL_SEED)
    return ImageFolder(cfg.val_data, size=cfg.size)


# The test crops likewise: every seed of every run is scored on the same crops, in every chapter (a book with several
# seeds once scored each chapter on the crops of the last run it loaded, seed + k).
TEST_SEED = Config.seed


def build_test_images(cfg: Config) -> Dataset:
    """The test images (read only by the final evaluation): the built-in test photos (their crops drawn with
    :data:`TEST_SEED`), or ``cfg.test_data``."""
    from gdn.data import BuiltinPhotos, ImageFolder

    if cfg.test_data == "builtin":
        return BuiltinPhotos("test", size=cfg.size, n=cfg.builtin_test, seed=TEST_SEED)
    return ImageFolder(cfg.test_data, size=cfg.size)


class EpochSampler(Sampler[int]):
    """A permutation that depends only on (seed, epoch), sharded over ranks, that can start mid-epoch.

    Full batches only (each rank gets ``per_rank`` indices), like ``DataLoader(drop_last=True)``.
    """

    def __init__(self, n: int, batch: int, seed: int, rank: int = 0, world: int = 1):
        self.n, self.batch, self.seed, self.rank, self.world = n, batch, seed, rank, world
        self.batches_per_epoch = n // (batch * world)
        if self.batches_per_epoch == 0:
            raise ValueError(f"the training set has {n} items, fewer than one global batch of {batch * world}")
        self.epoch, self.start_batch = 0, 0

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.n, generator=g)[: self.batches_per_epoch * self.batch * self.world]
        mine = order.view(self.batches_per_epoch, self.world, self.batch)[:, self.rank].reshape(-1)
        return iter(mine[self.start_batch * self.batch:].tolist())

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.start_batch) * self.batch


class _RunSampler(Sampler):
    """``(epoch, index)`` keys from a position to the end of time: the epochs of ``EpochSampler`` in a row."""

    def __init__(self, epochs: EpochSampler, step: int):
        self.epochs, self.step = epochs, step

    def __iter__(self):
        first, start = divmod(self.step, self.epochs.batches_per_epoch)
        for epoch in itertools.count(first):
            self.epochs.set_position(epoch, start if epoch == first else 0)
            yield from ((epoch, i) for i in self.epochs)


class _EpochItems(Dataset):
    """``items[(epoch, index)]`` is ``dataset[index]`` as epoch ``epoch`` makes it (its masks depend on the
    epoch), so one loader, and its workers, serve every epoch."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        return self.dataset[index]


def workers(cfg: Config) -> int:
    """Loader processes: ``cfg.num_workers``, or with -1 one per CPU core this process may use, but one."""
    if cfg.num_workers >= 0:
        return cfg.num_workers
    from gdn.device import usable_cpus

    return max(usable_cpus() - 1, 0)


def run_loader(cfg: Config, train_set: Dataset, sampler: EpochSampler, step: int, device: torch.device,
               per_rank: int) -> DataLoader:
    """Batches from generator step ``step`` to the end of the run (the iterator never ends by itself)."""
    n = workers(cfg)
    return DataLoader(_EpochItems(train_set), batch_size=per_rank, sampler=_RunSampler(sampler, step),
                      drop_last=True, num_workers=n, pin_memory=device.type == "cuda",
                      prefetch_factor=4 if n else None)


def loader_throughput(cfg: Config, seconds: float = 20.0, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Images per second of the training loader alone (what ``gdn train`` builds for ``cfg``), after its
    first batch (the workers' start, reported apart)."""
    from gdn.device import resolve_device, sync

    dev = resolve_device(device)
    train_set = build_train_set(cfg)
    sampler = EpochSampler(len(train_set), cfg.batch_size, cfg.seed)
    t0 = time.perf_counter()
    it = iter(run_loader(cfg, train_set, sampler, 0, dev, cfg.batch_size))
    batch = next(it)
    start_s = time.perf_counter() - t0
    t1, batches = time.perf_counter(), 0
    while time.perf_counter() - t1 < seconds:
        batch = {k: v.to(dev, non_blocking=True) for k, v in next(it).items()}
        batches += 1
    sync(dev)
    elapsed = time.perf_counter() - t1
    del it
    return {"images_per_s": batches * cfg.batch_size / elapsed, "batches": batches, "seconds": elapsed,
            "start_s": start_s, "workers": workers(cfg), "size": cfg.size, "batch_size": cfg.batch_size,
            "train_data": cfg.train_data, "shape": {k: list(v.shape) for k, v in batch.items()}}
