"""The one setup call of an experiment notebook: after its ``parameters`` cell, a chapter's notebook calls
:func:`setup` and gets its report (provenance shown), the training runs it reads, the test images, the fixed
evaluation masks and the sentence that says where its numbers come from."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from gdn.book.report import Report
from gdn.book.runs import RUNS, load_run, seed_run, test_images
from gdn.book.seeds import Seeds

from gdn.book.tables import setup_facts
from gdn.config import Config
from gdn.masks import mask_bank

__all__ = ["Study", "setup", "evaluation_masks"]


@dataclass
class Study:
    rep: Report
    cfg: Config  # the config of the runs (their shared size and test data)
    images: Any  # the test images: a dataset of (3,H,W) float tensors in [0,1]
    masks: list[np.ndarray]  # the evaluation masks, ``per_bin`` per ratio bin, (H,W) uint8, 1 = hole
    # run -> its generators as f(image, mask) -> pred, one per seed (a Seeds: calling it calls seed 0)
    methods: dict[str, Seeds] = field(default_factory=dict)
    critics: dict[str, Seeds] = field(default_factory=dict)  # run -> its detectors / discriminators, per seed
    seeds: int = 1  # seeds per run


def setup(name: str, params: Mapping[str, Any], runs: Sequence[str], runs_root: str | Path = RUNS, *,
          split: str = "test") -> Study:
    """Open notebook ``name``'s report with ``params`` (which hold ``profile``, ``per_bin``, ``n_images``,
    ``mask_seed``, ``device`` and ``seeds``), load the training runs ``runs/<profile>/<run>`` (each of its
    ``seeds``: :func:`~gdn.book.runs.seed_run`) and draw the mask bank. ``split="val"`` evaluates on the
    validation photos instead of the test photos."""
    rep = Report(name, params)
    rep.show_provenance()
    methods, critics, cfg = {}, {}, None
    n_seeds = int(params.get("seeds", 1))
    for run in runs:
        methods[run], critics[run] = Seeds(), Seeds()
        for k in range(n_seeds):
            method, critic, cfg = load_run(params["profile"], seed_run(run, k), runs_root, params.get("device", "cpu"))
            methods[run].append(method)
            critics[run].append(critic)
    images = test_images(cfg, params.get("n_images", 0), split)
    masks = evaluation_masks(cfg, len(images), params["per_bin"], params.get("mask_seed", 0), split)
    rep.facts("setup", setup_facts(params["profile"], cfg, len(images), len(masks), params["per_bin"],
                                   params.get("mask_seed", 0), split, n_seeds), "what produced this page's numbers")
    return Study(rep, cfg, images, masks, methods, critics, n_seeds)


def evaluation_masks(cfg: Config, n_images: int, per_bin: int, mask_seed: int = 0, split: str = "test") -> list:
    """The masks a chapter scores: with ``cfg.test_masks`` a folder of Liu et al.'s test masks, every test
    image in every bin (:func:`gdn.mask_sets.paired_test_masks`; a validation split keeps the generated bank,
    which recipe choices were made on); else the generated bank, ``per_bin`` masks per bin."""
    if cfg.test_masks == "generated" or split != "test":
        return mask_bank(per_bin, cfg.size, seed=mask_seed)
    from gdn.mask_sets import liu_test_masks, paired_test_masks

    return paired_test_masks(liu_test_masks(cfg.test_masks), n_images, cfg.size, border=cfg.test_mask_border)
