"""The frameworks as per-photo learners (the Per-photo learning chapter): Weight, Det and Adv each adapt the same
starting generator on each test photo with their own losses (:mod:`gdn.engine.adapt`, ``framework="own"``; Det's
detector and Adv's discriminator adapting alongside, from their runs), with the same steps, seeds and masks,
beside the controls: no adaptation, the spline and biharmonic.

A few dozen training photos cannot train any framework to convergence on two cores; one photo, a few dozen steps
at a time, can: here each framework's losses are what shapes the fill, on data the book can afford.

Pairs are ``(image (H,W,3) uint8, hole (H,W) bool)``. The work is split over ``workers`` processes of one thread
each (small convolutions use one core better than two threads do); each pair's scores do not depend on it.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["LEARNERS", "CONTROLS", "test_pairs", "setup_facts", "perphoto_study", "perphoto_rows", "perphoto_verdicts",
           "time_text"]

LEARNERS = ("Weight", "Det", "Adv")  # each adapts the start with its own losses
CONTROLS = ("no adaptation", "spline", "biharmonic")
_CLAIMS = (("Det", "Weight"), ("Det", "Adv"))  # the paper's ordering, per photo


def test_pairs(images, masks) -> list[tuple[np.ndarray, np.ndarray]]:
    """Mask ``k`` with image ``k % len(images)`` (the pairing of :func:`gdn.evaluation.evaluate`), as 8-bit
    ``(image (H,W,3), hole (H,W) bool)``."""
    from gdn.evaluation.protocol import item_image

    n = len(images)
    out = []
    for k, m in enumerate(masks):
        x = item_image(images[k % n])  # (3,H,W) float in [0,1]
        out.append(((x.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8), np.asarray(m) > 0))
    return out


def setup_facts(spec: Mapping[str, Any], n_pairs: int) -> list[tuple[str, str]]:
    """What each learner started from and how it adapted, for the chapter's provenance box."""
    a = spec["settings"]
    return [("start", f"every framework adapts the same generator: {spec['start']}"),
            ("critics", f"Det's detector from {spec['det']}; Adv's discriminator from {spec['adv']}"),
            ("adaptation", f"{a.steps} steps of {a.batch_size} crops, generator lr {a.lr:g} (each critic its run's "
                           f"d_lr), random training masks hidden among the photo's valid pixels, the reconstruction "
                           f"terms on those hidden pixels only; the last step fills"),
            ("pairs", f"{n_pairs} test image/mask pairs, each filled by every method")]


def _networks(spec: Mapping[str, Any]):
    """The start generator, each learner's critic and config (``spec`` holds checkpoint paths; built once per
    process)."""
    from gdn.engine.checkpoint import build_networks, load_checkpoint

    key = tuple(sorted((k, str(v)) for k, v in spec.items() if k != "settings"))
    if _CACHE.get("key") != key:
        start = load_checkpoint(spec["start"])
        generator, _ = build_networks(start)
        learners = {}
        for name, run in (("Det", "det"), ("Adv", "adv"), ("Weight", "det")):
            ckpt = load_checkpoint(spec[run])
            _, critic = build_networks(ckpt)
            cfg = ckpt["config"] if name != "Weight" else replace(ckpt["config"], framework="weight")
            learners[name] = (None if name == "Weight" else critic, cfg)
        _CACHE.update(key=key, generator=generator, learners=learners, start_cfg=start["config"])
    return _CACHE["generator"], _CACHE["learners"], _CACHE["start_cfg"]


_CACHE: dict[str, Any] = {}


def _one_pair(spec: Mapping[str, Any], image: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """PSNR of every fill of one pair, and each learner's seconds."""
    import torch

    from gdn.baselines import biharmonic, spline
    from gdn.engine.inference import Inpainter
    from gdn.engine.loader import content_side
    from gdn.evaluation.scores import psnr

    generator, learners, start_cfg = _networks(spec)
    truth = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255  # (1,3,H,W)
    m = torch.from_numpy(hole).float()[None, None]  # (1,1,H,W), 1 = hole

    def score(fill8: np.ndarray) -> float:
        return float(psnr(torch.from_numpy(fill8).permute(2, 0, 1)[None].float() / 255, truth)[0])

    def composite(f) -> np.ndarray:
        with torch.no_grad():
            out = truth * (1 - m) + f(truth, m) * m
        return (out[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)

    side = content_side(start_cfg)
    out = {"spline": score(composite(spline)), "biharmonic": score(composite(biharmonic)),
           "no adaptation": score(Inpainter(generator, working_side=side, adapt=0).inpaint(image, hole))}
    for name in LEARNERS:
        critic, cfg = learners[name]
        inp = Inpainter(generator, critic=critic, config=cfg, working_side=side,
                        adapt=replace(spec["settings"], framework="own"))
        t = time.perf_counter()
        out[name] = score(inp.inpaint(image, hole))
        out[f"{name} s"] = time.perf_counter() - t
    return out


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _run(args) -> dict[str, float]:
    return _one_pair(*args)


def perphoto_study(spec: Mapping[str, Any], pairs: Sequence[tuple[np.ndarray, np.ndarray]], *,
                   workers: int | None = None) -> dict[str, np.ndarray]:
    """Per method, its PSNR on each pair (``(N,)`` arrays), each learner's seconds per pair (``"Det s"``, ...)
    and the pairs' hole ratios (``"ratio"``). ``spec``: ``start`` (the starting generator's checkpoint), ``det``
    and ``adv`` (the runs whose critics adapt alongside, and whose configs give each framework's losses) and
    ``settings`` (a :class:`gdn.engine.adapt.Adaptation`). ``workers``: processes (default: the usable cores)."""
    workers = workers or len(os.sched_getaffinity(0))
    jobs = [(dict(spec), image, hole) for image, hole in pairs]
    if workers <= 1:
        rows = [_run(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
            rows = list(pool.map(_run, jobs))
    out = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    out["ratio"] = np.array([float(hole.mean()) for _, hole in pairs])
    return out


def perphoto_rows(study: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """One row per mask-ratio bin and one for all pairs: the mean PSNR of every fill, and each learner's gain
    over no adaptation (mean [95 % paired interval over the bin's pairs])."""
    from gdn.masks import RATIO_BINS, ratio_bin
    from gdn.stats import format_ci, paired_difference

    bins = np.array([-1 if (b := ratio_bin(r)) is None else b for r in study["ratio"]])
    groups = [(f"({lo:.1f},{hi:.1f}]", bins == k) for k, (lo, hi) in enumerate(RATIO_BINS)]
    rows = []
    for label, sel in groups + [("all", np.ones(len(bins), bool))]:
        if not sel.any():
            continue
        row: dict[str, Any] = {"bin": label, "pairs": int(sel.sum())}
        row |= {k: float(study[k][sel].mean()) for k in CONTROLS + LEARNERS}
        for name in LEARNERS:
            d = paired_difference(study[name][sel], study["no adaptation"][sel])
            row[f"{name} - no adaptation"] = format_ci(d, signed=True)
        rows.append(row)
    return rows


def perphoto_verdicts(study: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """The verdicts (:func:`gdn.book.verdicts.verdict_rows`): each learner against no adaptation and the spline,
    then the paper's ordering (Det above Weight, Det above Adv) on these per-photo learners, over all pairs. No
    single-seed rule: each pair draws its own adaptation seed, so the pairs' intervals hold that randomness."""
    from gdn.book.verdicts import verdict_rows

    controls = [(name, c) for name in LEARNERS for c in ("no adaptation", "spline")]
    return (verdict_rows(study, controls, record=None, source="")
            + verdict_rows(study, list(_CLAIMS), record=None))


def time_text(study: Mapping[str, np.ndarray], minutes: float) -> str:
    """Seconds per pair of each learner, and the chapter's minutes."""
    each = ", ".join(f"{n} {np.mean(study[f'{n} s']):.1f} s" for n in LEARNERS)
    return f"Per pair: {each} (one thread per process); the chapter took {minutes:.1f} min."
