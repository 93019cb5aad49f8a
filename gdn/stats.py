"""Uncertainty for the book's comparisons: bootstrap confidence intervals over test images.

Every table and figure of the book compares methods on the *same* image/mask pairs, so differences are
judged with a **paired** bootstrap: the pairs are resampled with replacement, the same resample for both
methods, and the 2.5 and 97.5 percentiles of the resampled mean difference form the 95 % interval. A
difference whose interval excludes zero is called real; otherwise it is within noise. The sentences the book
prints about the paper's orderings come from :func:`verdict` and :func:`compare_sentence`, never from a
hand-typed claim.

Shapes: ``values`` are 1-D arrays of per-pair scores (one per image/mask pair, in the evaluation's order).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

__all__ = ["LEVEL", "N_BOOT", "bootstrap_mean", "paired_difference", "verdict", "compare_sentence",
           "ordering_sentences", "format_ci"]

LEVEL = 0.95  # two-sided confidence level of every interval in the book
N_BOOT = 2000  # bootstrap resamples: the percentiles are stable to about 0.01 dB at this count


def _resample_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    # (n_boot,) means of resamples; the same seed draws the same resamples for arrays of the same length,
    # which is what makes two calls paired
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    return values[idx].mean(axis=1)


def _finite(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def bootstrap_mean(values, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> dict[str, float]:
    """Mean of ``values`` and its percentile-bootstrap interval: ``{"mean", "lo", "hi", "n"}``.

    Non-finite values (a perfect image's PSNR) are left out. Fewer than two values give a NaN interval."""
    v = _finite(values)
    if len(v) == 0:
        return {"mean": math.nan, "lo": math.nan, "hi": math.nan, "n": 0}
    if len(v) == 1:
        return {"mean": float(v[0]), "lo": math.nan, "hi": math.nan, "n": 1}
    means = _resample_means(v, n_boot, seed)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return {"mean": float(v.mean()), "lo": float(lo), "hi": float(hi), "n": int(len(v))}


def paired_difference(a, b, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` over the pairs both scored, with its paired-bootstrap interval.

    ``a`` and ``b`` are per-pair scores of two methods on the same pairs (same order). Returns
    ``{"mean", "lo", "hi", "n"}`` like :func:`bootstrap_mean` applied to the differences."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired scores differ in length: {a.shape[0]} vs {b.shape[0]}")
    return bootstrap_mean(a - b, n_boot=n_boot, level=level, seed=seed)


def verdict(diff: Mapping[str, float]) -> str:
    """``"holds"`` when the interval of a difference (claimed positive) lies above zero, ``"reverses"`` when it
    lies below, ``"within noise"`` when it straddles zero (or could not be computed)."""
    lo, hi = diff.get("lo", math.nan), diff.get("hi", math.nan)
    if lo > 0:
        return "holds"
    if hi < 0:
        return "reverses"
    return "within noise"


def format_ci(stat: Mapping[str, float], fmt: str = "{:.2f}", signed: bool = False) -> str:
    """``"21.34 [20.90, 21.80]"``: a mean and its interval as text (``signed`` prefixes + on differences)."""
    f = (lambda x: ("+" if x >= 0 else "") + fmt.format(x)) if signed else fmt.format
    if not math.isfinite(stat.get("mean", math.nan)):
        return "n/a"
    if not (math.isfinite(stat.get("lo", math.nan)) and math.isfinite(stat.get("hi", math.nan))):
        return f(stat["mean"])
    return f"{f(stat['mean'])} [{f(stat['lo'])}, {f(stat['hi'])}]"


def compare_sentence(better: str, worse: str, diff: Mapping[str, float], *, metric: str = "PSNR",
                     unit: str = "dB", fmt: str = "{:.2f}", source: str = "the paper") -> str:
    """One generated sentence on the claim "``better`` beats ``worse`` on ``metric``" (``diff`` = better -
    worse, higher is better), e.g. ``"Det - Weight: +0.41 dB [+0.12, +0.70]: the paper's ordering holds."``"""
    text = format_ci(diff, fmt, signed=True)
    v = verdict(diff)
    owner = f"{source}'s ordering" if source else "the ordering"
    tail = {"holds": f"{owner} ({better} above {worse}) holds",
            "reverses": f"{owner} ({better} above {worse}) reverses: {worse} is higher",
            "within noise": f"the difference is within noise, so {owner} ({better} above {worse}) is neither "
                            f"confirmed nor refuted"}[v]
    measure = " ".join(x for x in (unit, metric) if x)
    return f"{better} - {worse}: {text} {measure}; {tail}."


def ordering_sentences(scores: Mapping[str, Sequence[float]], claims: Sequence[tuple[str, str]], **kw) -> list[str]:
    """:func:`compare_sentence` for each ``(better, worse)`` claim, on per-pair ``scores`` (name -> values)."""
    return [compare_sentence(b, w, paired_difference(scores[b], scores[w]), **kw) for b, w in claims]
