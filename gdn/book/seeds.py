"""Runs trained with several seeds, and measurements repeated over them.

A :class:`Seeds` holds one run's members, seed by seed (each a method ``f(image, mask) -> pred`` or a critic);
calling it calls the first, so a figure shows one seed. :func:`over_seeds` repeats a measurement for every seed
and stacks its per-pair arrays into ``(S, N)`` (seed x pair), which :mod:`gdn.stats` reads with its two-level
bootstrap; a training-free method is measured once and keeps its ``(N,)``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["Seeds", "n_seeds", "member", "over_seeds"]


class Seeds(list):
    """One run's members, seed by seed; ``Seeds(...)(*args)`` calls the first (seed 0)."""

    def __call__(self, *args, **kwargs):
        return self[0](*args, **kwargs)


def _values(arg: Any) -> list:
    return list(arg.values()) if isinstance(arg, dict) else [arg]


def n_seeds(*args: Any) -> int:
    """The largest number of seeds among ``args`` (each a value or a dict of values); 1 without a Seeds."""
    return max([len(v) for a in args for v in _values(a) if isinstance(v, Seeds)], default=1)


def member(arg: Any, k: int, *, seeded_only: bool = False) -> Any:
    """Seed ``k`` of ``arg``: a Seeds gives its k-th member, a dict gets each of its values' (``seeded_only``:
    dropping its plain values, which seed ``k`` would only measure again), anything else comes back as it is."""
    if isinstance(arg, Seeds):
        if k >= len(arg):
            raise ValueError(f"seed {k} asked of a run with {len(arg)} seeds")
        return arg[k]
    if isinstance(arg, dict):
        return {n: member(v, k) for n, v in arg.items() if not (seeded_only and k and not isinstance(v, Seeds))}
    return arg


def _stack(results: list[Any], n: int) -> Any:
    # the seeds' results of one measurement -> arrays measured in all n seeds stacked (S,...), the rest seed 0's
    first = results[0]
    if isinstance(first, dict):
        return {key: _stack([r[key] for r in results if key in r], n) for key in first}
    if isinstance(first, np.ndarray) and len(results) == n > 1 and all(r.shape == first.shape for r in results):
        return np.stack(results)
    return first


def over_seeds(measure: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``measure(*args, **kwargs)`` once per seed, each Seeds argument (or dict value) replaced by its member.
    Arrays it returns for every seed come back stacked ``(S, ...)``; what only seed 0 measured, and anything
    that is not an array (example images), comes back as seed 0's. When a plain argument is itself a Seeds
    (a seeded critic), every method is measured again for each seed, since the critic changes its result."""
    n = n_seeds(*args, *kwargs.values())
    seeded_critic = any(isinstance(a, Seeds) for a in (*args, *kwargs.values()))
    results = []
    for k in range(n):
        pick = lambda a: member(a, k, seeded_only=not seeded_critic)  # noqa: E731
        results.append(measure(*[pick(a) for a in args], **{key: pick(v) for key, v in kwargs.items()}))
    return _stack(results, n)
