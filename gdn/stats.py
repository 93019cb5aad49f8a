"""Uncertainty for the book's comparisons: bootstrap confidence intervals over seeds and test pairs.

Every table and figure of the book compares methods on the *same* image/mask pairs, so differences are
judged with a **paired** bootstrap: the pairs are resampled with replacement, the same resample for both
methods, and the 2.5 and 97.5 percentiles of the resampled mean difference form the 95 % interval. A run trained
with several seeds gives a ``(S, N)`` array (seed x pair); its interval comes from a **two-level bootstrap**:
seeds are resampled first, then the pairs (one resample shared by the drawn seeds, which were all scored on the
same pairs), so the interval holds both the seed's variance (initialisation and data order) and the pairs'
(Bouthillier et al., MLSys 2021). Seed ``k`` of two runs shares
its initial weights and data order, so differences pair seeds too. A difference whose interval excludes zero is
called real; otherwise it is within noise, and the interval bounds how large it could be. The sentences the book
prints about the paper's orderings come from :func:`verdict` and :func:`compare_sentence`, never from a
hand-typed claim.

Shapes: ``values`` are per-pair scores, ``(N,)`` for one run (or a training-free method) or ``(S, N)`` for
``S`` seeds, in the evaluation's pair order.
"""
from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

import numpy as np

__all__ = ["LEVEL", "N_BOOT", "bootstrap_mean", "paired_difference", "verdict", "detectable", "precise",
           "compare_sentence", "ordering_sentences", "format_ci", "probability_of_improvement", "seed_spread",
           "seed_count"]

LEVEL = 0.95  # two-sided confidence level of every interval in the book
N_BOOT = 2000  # bootstrap resamples: the percentiles are stable to about 0.01 dB at this count


def _resample_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    # (n_boot,) means of resamples; the same seed draws the same resamples for arrays of the same shape, which
    # is what makes two calls paired. (S,N): seeds with replacement, then pairs with replacement; one pair
    # resample for all the drawn seeds, since every seed is scored on the same test pairs (resampling them
    # independently per seed would shrink the pairs' share of the variance by S).
    rng = np.random.default_rng(seed)
    if values.ndim == 1:
        idx = rng.integers(0, len(values), size=(n_boot, len(values)))
        return values[idx].mean(axis=1)
    n_seeds, n_pairs = values.shape
    seeds = rng.integers(0, n_seeds, size=(n_boot, n_seeds, 1))
    pairs = rng.integers(0, n_pairs, size=(n_boot, 1, n_pairs))
    return values[seeds, pairs].mean(axis=(1, 2))


def _finite(values) -> np.ndarray:
    # (N,) finite values, or (S,N) keeping the pairs finite in every seed; a single seed is (N,)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 2 and v.shape[0] > 1:
        return v[:, np.isfinite(v).all(axis=0)]
    v = v.ravel()
    return v[np.isfinite(v)]


def bootstrap_mean(values, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> dict[str, float]:
    """Mean of ``values`` and its percentile-bootstrap interval: ``{"mean", "lo", "hi", "n", "seeds"}``.

    ``values`` is ``(N,)`` (pairs) or ``(S, N)`` (seeds x pairs: the two-level bootstrap, seeds then pairs). Non-finite values (a
    perfect image's PSNR) are left out (a pair in every seed). Fewer than two values give a NaN interval."""
    v = _finite(values)
    seeds = v.shape[0] if v.ndim == 2 else 1
    if v.size == 0:
        return {"mean": math.nan, "lo": math.nan, "hi": math.nan, "n": 0, "seeds": seeds}
    if v.size == 1:
        return {"mean": float(v.ravel()[0]), "lo": math.nan, "hi": math.nan, "n": 1, "seeds": seeds}
    means = _resample_means(v, n_boot, seed)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return {"mean": float(v.mean()), "lo": float(lo), "hi": float(hi), "n": int(v.shape[-1]), "seeds": seeds}


def _paired(a, b) -> np.ndarray:
    # a - b per pair (and per seed): (N,) and (N,) -> (N,); (S,N) with (N,) or (S,N) -> (S,N)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = (a[None] if a.ndim == 1 else a), (b[None] if b.ndim == 1 else b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"paired scores differ in length: {a.shape[-1]} vs {b.shape[-1]}")
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise ValueError(f"paired runs differ in their number of seeds: {a.shape[0]} vs {b.shape[0]}")
    d = a - b
    return d[0] if d.shape[0] == 1 else d


def paired_difference(a, b, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` over the pairs (and seeds) both scored, with its paired-bootstrap interval.

    ``a`` and ``b`` are per-pair scores of two methods on the same pairs (same order), ``(N,)`` or ``(S, N)``
    (seed ``k`` of both runs shares its initial weights and data order); a training-free method's ``(N,)`` is
    compared with every seed. Returns ``{"mean", "lo", "hi", "n", "seeds"}`` like :func:`bootstrap_mean`."""
    return bootstrap_mean(_paired(a, b), n_boot=n_boot, level=level, seed=seed)


def verdict(diff: Mapping[str, float]) -> str:
    """``"holds"`` when the interval of a difference (claimed positive) lies above zero, ``"reverses"`` when it
    lies below, ``"within noise"`` when it straddles zero (or could not be computed)."""
    lo, hi = diff.get("lo", math.nan), diff.get("hi", math.nan)
    if lo > 0:
        return "holds"
    if hi < 0:
        return "reverses"
    return "within noise"


def detectable(diff: Mapping[str, float]) -> float:
    """The largest difference an interval that straddles zero leaves possible: ``max(|lo|, |hi|)``. "Within
    noise" then reads "any difference is smaller than this": what the build could have detected."""
    return max(abs(diff.get("lo", math.nan)), abs(diff.get("hi", math.nan)))


def probability_of_improvement(a, b, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0
                               ) -> dict[str, float]:
    """P(A > B): the share of (seed of A, seed of B) combinations in which A's mean over the pairs beats B's
    (ties count a half), with a two-level bootstrap interval (seeds, then pairs); Bouthillier et al.'s summary.
    ``a``, ``b``: ``(S, N)`` or ``(N,)`` per-pair scores, higher is better. One seed on both sides gives 0 or 1
    and no interval: a single run cannot estimate a probability over runs."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = (a[None] if a.ndim == 1 else a), (b[None] if b.ndim == 1 else b)
    keep = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    a, b = a[:, keep], b[:, keep]

    def p(ma: np.ndarray, mb: np.ndarray) -> np.ndarray:  # (..., Sa), (..., Sb) seed means -> (...,)
        diff = ma[..., :, None] - mb[..., None, :]
        return ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(-1, -2))

    point = float(p(a.mean(axis=1), b.mean(axis=1)))
    if a.shape[0] == 1 and b.shape[0] == 1:
        return {"mean": point, "lo": math.nan, "hi": math.nan, "seeds": 1}
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, a.shape[1], size=(n_boot, 1, a.shape[1]))  # the same pairs for both: paired

    def resample(v: np.ndarray) -> np.ndarray:  # (n_boot, S) seed means of a two-level resample
        seeds = rng.integers(0, v.shape[0], size=(n_boot, v.shape[0], 1))
        return v[seeds, pairs].mean(axis=2)

    boots = p(resample(a), resample(b))
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(boots, [tail, 100 - tail])
    return {"mean": point, "lo": float(lo), "hi": float(hi), "seeds": max(a.shape[0], b.shape[0])}


def seed_spread(values) -> float:
    """Max minus min over seeds of the mean over pairs of ``(S, N)`` scores: how far seeds alone move a run's
    result (NaN for one seed)."""
    v = _finite(values)
    if v.ndim != 2:
        return math.nan
    means = v.mean(axis=1)
    return float(means.max() - means.min())


def format_ci(stat: Mapping[str, float], fmt: str = "{:.2f}", signed: bool = False) -> str:
    """``"21.34 [20.90, 21.80]"``: a mean and its interval as text (``signed`` prefixes + on differences)."""
    f = (lambda x: ("+" if x >= 0 else "") + fmt.format(x)) if signed else fmt.format
    if not math.isfinite(stat.get("mean", math.nan)):
        return "n/a"
    if not (math.isfinite(stat.get("lo", math.nan)) and math.isfinite(stat.get("hi", math.nan))):
        return f(stat["mean"])
    return f"{f(stat['mean'])} [{f(stat['lo'])}, {f(stat['hi'])}]"


def precise(fmt: str, diff: Mapping[str, float]) -> str:
    """``fmt`` (``"{:.2f}"``-style) with the decimals an interval needs: at least one significant digit of its
    largest bound (:func:`detectable`), so a difference never prints as "smaller than 0.000"; never fewer decimals
    than ``fmt`` has."""
    m = re.fullmatch(r"\{:([+]?)\.(\d+)f\}", fmt)
    bound = detectable(diff)
    if not m or not (math.isfinite(bound) and bound > 0):
        return fmt
    decimals = max(int(m.group(2)), min(6, math.ceil(-math.log10(bound))))
    return f"{{:{m.group(1)}.{decimals}f}}"


def compare_sentence(better: str, worse: str, diff: Mapping[str, float], *, metric: str = "PSNR",
                     unit: str = "dB", fmt: str = "{:.2f}", source: str = "the paper",
                     seed_spread: float = math.nan) -> str:
    """One generated sentence on the claim "``better`` beats ``worse`` on ``metric``" (``diff`` = better -
    worse, higher is better), e.g. ``"Det - Weight: +0.41 dB [+0.12, +0.70]: the paper's ordering holds."``;
    within noise, it names the largest difference the interval leaves possible (:func:`detectable`).

    ``seed_spread``: for runs trained with one seed, how far seeds alone moved a run elsewhere (a recorded
    study). A difference smaller than that names no ordering, whatever its interval over the pairs: one seed
    cannot tell it from the seed's luck, so the sentence says so and points to the study's verdict."""
    text = format_ci(diff, precise(fmt, diff), signed=True)
    v = verdict(diff)
    owner = f"{source}'s ordering" if source else "the ordering"
    mean = diff.get("mean", math.nan)
    if math.isfinite(seed_spread) and not abs(mean) >= seed_spread:
        spread = f"{fmt.format(seed_spread)}{' ' + unit if unit else ''}"
        measure = " ".join(x for x in (unit, metric) if x)
        return (f"{better} - {worse}: {text} {measure}; not decided at one seed: seeds alone moved a run by up to "
                f"{spread}, so {owner} ({better} above {worse}) is left to the study profile's verdict.")
    bound = detectable(diff)
    limit = (f"any difference is smaller than {precise(fmt, diff).format(bound)}{' ' + unit if unit else ''}"
             if math.isfinite(bound) else "no interval could be computed")
    tail = {"holds": f"{owner} ({better} above {worse}) holds",
            "reverses": f"{owner} ({better} above {worse}) reverses: {worse} is higher",
            "within noise": f"within noise: {limit}, so {owner} ({better} above {worse}) is neither "
                            f"confirmed nor refuted"}[v]
    measure = " ".join(x for x in (unit, metric) if x)
    return f"{better} - {worse}: {text} {measure}; {tail}."


def ordering_sentences(scores: Mapping[str, Sequence[float]], claims: Sequence[tuple[str, str]], **kw) -> list[str]:
    """:func:`compare_sentence` for each ``(better, worse)`` claim, on per-pair ``scores`` (name -> values);
    where a side has several seeds, followed by :func:`probability_of_improvement`."""
    out = []
    for better, worse in claims:
        text = compare_sentence(better, worse, paired_difference(scores[better], scores[worse]), **kw)
        if max(seed_count(scores[better]), seed_count(scores[worse])) > 1:
            poi = probability_of_improvement(scores[better], scores[worse])
            text += f" P({better} above {worse}), over the seeds: {format_ci(poi)}."
        out.append(text)
    return out


def seed_count(values) -> int:
    """How many seeds per-pair scores hold: ``S`` for ``(S, N)``, 1 for ``(N,)``."""
    v = np.asarray(values)
    return v.shape[0] if v.ndim == 2 else 1
