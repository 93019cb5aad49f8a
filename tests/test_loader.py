"""The training data order: a function of (seed, epoch), one loader for a whole run, resumable mid-epoch."""
import os

import pytest
import torch
from torch.utils.data import DataLoader

from gdn.config import resolve
from gdn.engine.loader import EpochSampler, build_train_set, loader_throughput, run_loader, workers


def test_sampler_is_a_function_of_seed_and_epoch_and_resumes_mid_epoch():
    s = EpochSampler(20, 3, seed=5)
    s.set_position(2)
    full = list(s)
    s.set_position(2, start_batch=4)
    assert list(s) == full[12:]
    s.set_position(3)
    assert list(s) != full and sorted(full) == sorted(set(full))
    ranks = [EpochSampler(20, 2, seed=5, rank=r, world=2) for r in (0, 1)]
    a, b = (list(r) for r in ranks)
    assert not set(a) & set(b) and len(a) == len(b) == 10


def _per_epoch_batches(cfg, train_set, sampler, n_batches):
    # the reference: a fresh loader per epoch, as each epoch's order and masks define the data
    out = []
    epoch = 0
    while len(out) < n_batches:
        sampler.set_position(epoch)
        train_set.set_epoch(epoch)
        out += list(DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, drop_last=True))
        epoch += 1
    return out[:n_batches]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_one_loader_for_the_run_gives_each_epochs_batches_and_resumes_mid_run(num_workers):
    cfg = resolve("smoke", {"size": 32, "builtin_train": 12, "batch_size": 4, "num_workers": num_workers})
    train_set = build_train_set(cfg)
    sampler = EpochSampler(len(train_set), cfg.batch_size, cfg.seed)  # 3 batches per epoch
    want = _per_epoch_batches(cfg, build_train_set(cfg), EpochSampler(12, 4, cfg.seed), 8)
    for start in (0, 4):  # from the start, and resumed in the middle of the second epoch
        it = iter(run_loader(cfg, train_set, sampler, start, torch.device("cpu"), cfg.batch_size))
        got = [next(it) for _ in range(8 - start)]
        del it
        for g, w in zip(got, want[start:]):
            assert torch.equal(g["image"], w["image"]) and torch.equal(g["mask"], w["mask"])
    assert not torch.equal(want[0]["mask"], want[3]["mask"])  # epochs differ: the masks follow the epoch


def test_minus_one_workers_means_one_per_usable_core_but_one():
    cores = len(os.sched_getaffinity(0))
    assert workers(resolve("paper")) == max(cores - 1, 0)
    assert workers(resolve("paper", {"num_workers": 3})) == 3


def test_loader_throughput_counts_images_after_the_first_batch():
    cfg = resolve("smoke", {"size": 32, "builtin_train": 16, "batch_size": 4, "num_workers": 0})
    r = loader_throughput(cfg, seconds=0.5)
    assert r["images_per_s"] > 0 and r["batches"] >= 1 and r["shape"] == {"image": [4, 3, 32, 32], "mask": [4, 1, 32, 32]}
