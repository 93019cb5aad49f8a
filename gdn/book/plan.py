"""The book's plan: which notebooks ``gdn book`` runs for a profile, with which parameters, after which steps.

Trainings come first, then the experiment notebooks that read their checkpoints. Before anything runs, every
parameter name is checked against the notebook's ``parameters`` cell (papermill's ``inspect_notebook``): a
misspelt name is an error naming it and listing the allowed ones.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from gdn.book.runs import checkpoint, run_dir, seed_run

__all__ = ["BookError", "Step", "TRAININGS", "TRAINING_TITLES", "EVAL_SIZES", "EXPERIMENTS", "FIRST_SEED_READS",
           "SEEDED", "FRAMEWORK_RUNS", "run_seeds", "seeds_text", "plan", "apply_params", "notebook_parameters", "check_parameters"]


class BookError(RuntimeError):
    """A problem with the book's plan, a notebook or the build, with a one-line explanation."""


# ---------------------------------------------------------------------------------------------------- plan

# The book's seven training runs, the same for every profile; shared where the paper's experiments overlap:
# Table 2's focal row, Fig. 3's exp(10) and Fig. 6's Det are all the `det` run.
TRAININGS: dict[str, dict[str, Any]] = {  # each run's config keys on top of the profile (the rest: its defaults)
    "det": {},  # the paper's method: focal loss, exp(10) weights
    "det_ce": dict(detector_loss="ce"),
    "det_bce": dict(detector_loss="bce"),
    "weight": dict(framework="weight"),
    "adv": dict(framework="adv"),
    "det_linear": dict(weight_mapping="linear"),
    "det_exp_e": dict(exp_base=math.e),
}
# Side by side (`gdn book --jobs`), the longest trainings start first, so the last one to finish is not left
# alone on one core: an Adv run takes 1.3x a Det run on the CPU, a Weight run (no critic) a fifth.
_START_ORDER = {"adv": 0, "det": 1, "weight": 2}
TRAINING_TITLES = {
    "det": "Det: focal loss, exp(10) weights (the paper's method)",
    "det_ce": "Det with the cross-entropy detector loss (Eq. 4)",
    "det_bce": "Det with the balanced cross-entropy loss (Eq. 5)",
    "weight": "Weight: hole-weighted L1 (6 / 1)",
    "adv": "Adv: L1 + scalar adversarial loss",
    "det_linear": "Det with the linear weight mapping 1 + V",
    "det_exp_e": "Det with the exponential mapping e^V",
}

# Evaluation sizes of the experiment notebooks per profile: masks per ratio bin, test images, examples shown,
# what the timing notebook measures (the paper's networks at 256 px, except in the smoke book), and how many
# seeds each training run is trained with (every comparison then reads all of them). `framework_seeds`, where
# given, is the count of the three frameworks' runs (det, weight, adv): the first study's Det vs Adv verdict
# turned on the seed spread (Adv's 0.36 dB over 3 seeds, at the adversarial weight 0.1), so Fig. 6 and Table 1
# get 5 seeds and the ablations keep 3.
# Per-photo learning costs seconds a pair on a CPU (three adaptations a pair in its chapter): `perphoto_per_bin` is
# that chapter's pairs per bin, and the Generalisation chapter scores the adapted fill on every `adapt_every`-th
# pair of its size study; both adapt `adapt_steps` steps (the recipe's 60; the smoke profile only runs the code).
EVAL_SIZES: dict[str, dict[str, Any]] = {
    "smoke": dict(per_bin=1, n_images=4, app_size=64, bench=dict(quick=True, repeats=1), seeds=1,
                  perphoto_per_bin=1, adapt_every=3, adapt_steps=3),
    "cpu": dict(per_bin=16, n_images=48, app_size=128, bench=dict(quick=False, repeats=3), seeds=1,
                perphoto_per_bin=1, adapt_every=16, adapt_steps=60),
    "study": dict(per_bin=16, n_images=48, app_size=128, bench=dict(quick=False, repeats=3), seeds=3,
                  framework_seeds=5, perphoto_per_bin=4, adapt_every=8, adapt_steps=60),
    "paper": dict(per_bin=100, n_images=0, app_size=256, bench=dict(quick=False, repeats=20), seeds=1,  # --seeds 3: 3x
                  perphoto_per_bin=20, adapt_every=4, adapt_steps=60),
}

# Experiment notebooks: (step = notebook stem, title, the training runs it reads).
EXPERIMENTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("table1", "Table 1: Det, Weight, Adv and classical inpainting by mask ratio", ("det", "weight", "adv")),
    ("table2", "Table 2: detector-loss ablation", ("det_ce", "det_bce", "det")),
    ("frameworks", "Fig. 6: Weight vs Adv vs Det", ("weight", "adv", "det")),
    ("weight_mapping", "Fig. 3: weight mapping and edge ratios", ("det_linear", "det_exp_e", "det")),
    ("detector", "Fig. 7: the detector's maps", ("det", "weight", "adv")),
    ("examples", "Figs. 1, 4, 5: examples", ("det", "weight", "adv")),
    ("applications", "Fig. 8: applications", ("det",)),
    ("metrics", "Metric definitions on the same outputs", ("det",)),
    ("validation", "Generalisation: validation photos and colour-shifted copies", ("det", "weight", "adv")),
    ("perphoto", "Per-photo learning: the frameworks on each test photo", ("det", "adv")),
    ("timing", "Inference time", ()),
]


# Runs an experiment also reads at their first seed only (Fig. 9's ablation detectors, where cheap).
FIRST_SEED_READS: dict[str, tuple[str, ...]] = {"detector": ("det_ce", "det_bce", "det_linear", "det_exp_e")}

# The comparisons: they read every seed of their runs (the others show the first seed's results).
SEEDED = frozenset({"table1", "table2", "frameworks", "weight_mapping", "detector", "validation"})
FRAMEWORK_RUNS = ("det", "weight", "adv")


def run_seeds(profile: str, seeds: int | None = None) -> dict[str, int]:
    """How many seeds each training run gets: the profile's ``EVAL_SIZES`` count, its ``framework_seeds`` for
    the three frameworks' runs; ``seeds`` (``gdn book --seeds N``) gives every run N."""
    sizes = EVAL_SIZES.get(profile, EVAL_SIZES["cpu"])
    if seeds is not None:
        counts = {run: int(seeds) for run in TRAININGS}
    else:
        counts = {run: int(sizes.get("framework_seeds", sizes["seeds"]) if run in FRAMEWORK_RUNS else sizes["seeds"])
                  for run in TRAININGS}
    if min(counts.values()) < 1:
        raise BookError(f"seeds must be at least 1, got {min(counts.values())}")
    return counts


def seeds_text(profile: str) -> str:
    """The profile's seed counts in words, e.g. "3 seeds per run, 5 for Det, Weight and Adv"."""
    counts = run_seeds(profile)
    base, frameworks = min(n for r, n in counts.items() if r not in FRAMEWORK_RUNS), counts["det"]
    more = f", {frameworks} for Det, Weight and Adv" if frameworks != base else ""
    return f"{base} seed{'s' if base > 1 else ''} per run{more}"


@dataclass
class Step:
    """One notebook execution: ``notebooks/<notebook>`` with ``params``, after the steps named in ``deps``.

    ``outputs`` are paths (relative to the work directory) that must exist for the step to be reused, on top
    of its executed notebook. ``parallel`` steps may run beside each other (``gdn book --jobs``); the others
    run alone (the timing notebook must, and the experiments are short)."""
    name: str
    notebook: str
    params: dict[str, Any]
    deps: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    title: str = ""
    parallel: bool = False


def plan(profile: str, overrides: Mapping[str, Any] | None = None, *, seeds: int | None = None) -> list[Step]:
    """The book's steps for ``profile`` in execution order: the seven trainings (each with its
    :func:`run_seeds` count, every run ``seeds`` times if given: seed k is run :func:`~gdn.book.runs.seed_run`
    with the profile's seed + k), then the experiments, each reading the seeds that all its runs have.
    ``overrides`` are training config keys for every training run (e.g. ``device``, ``train_data``)."""
    from gdn.config import PROFILES, resolve

    if profile not in PROFILES:
        raise BookError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    sizes = EVAL_SIZES.get(profile, EVAL_SIZES["cpu"])
    counts = run_seeds(profile, seeds)
    overrides = dict(overrides or {})
    given_seed = overrides.pop("seed", None)  # the first seed's; seed k is this + k (in each run's config)
    base_seed = int(resolve(profile, {} if given_seed is None else {"seed": given_seed}).seed)
    device = str(overrides.get("device", "cpu"))
    steps: list[Step] = []
    order = sorted(TRAININGS.items(), key=lambda item: _START_ORDER[item[1].get("framework", "det")])
    for k in range(max(counts.values())):
        for run, spec in order:
            if k >= counts[run]:
                continue
            name = seed_run(run, k)
            params = {"profile": profile, "run": name, "config": dict(spec, **({"seed": base_seed + k} if k or given_seed is not None else {}))}
            if overrides:
                params["overrides"] = dict(overrides)
            seed_text = f" (seed {base_seed + k})" if counts[run] > 1 else ""
            steps.append(Step(f"train_{name}", "train.ipynb", params,
                              outputs=(checkpoint(profile, name).as_posix(),
                                       (run_dir(profile, name) / "summary.json").as_posix()),
                              title=f"Training run {name}: {TRAINING_TITLES[run]}{seed_text}", parallel=True))
    for name, title, needs in EXPERIMENTS:
        n_seeds = min((counts[r] for r in needs), default=1) if name in SEEDED else 1
        if name == "timing":
            params = {"profile": profile, **sizes["bench"], "device": device}
        elif name == "applications":
            params = {"profile": profile, "app_size": sizes["app_size"], "device": device}
        elif name == "perphoto":
            params = {"profile": profile, "per_bin": sizes["perphoto_per_bin"], "n_images": sizes["n_images"],
                      "device": device, "adapt_steps": sizes["adapt_steps"]}
        else:
            params = {"profile": profile, "per_bin": sizes["per_bin"], "n_images": sizes["n_images"],
                      "device": device, **({"seeds": n_seeds} if name in SEEDED else {}),
                      **({"adapt_every": sizes["adapt_every"], "adapt_steps": sizes["adapt_steps"]}
                         if name == "validation" else {})}
        deps = tuple(f"train_{seed_run(r, k)}" for r in needs for k in range(n_seeds))
        deps += tuple(f"train_{r}" for r in FIRST_SEED_READS.get(name, ()) if f"train_{r}" not in deps)
        steps.append(Step(name, f"{name}.ipynb", params, deps=deps, title=title))
    return steps


def apply_params(steps: list[Step], assignments: Sequence[str], notebooks: str | Path = "notebooks") -> None:
    """``[STEP.]NAME=VALUE`` assignments (VALUE a Python literal, else a string) onto the steps' parameters.
    ``NAME=VALUE`` without a step applies to every step whose notebook has that parameter."""
    by_name = {s.name: s for s in steps}
    for item in assignments:
        target, sep, text = item.partition("=")
        if not sep or not target:
            raise BookError(f"--param expects [STEP.]NAME=VALUE, got {item!r}")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        step_name, dot, name = target.rpartition(".")
        if dot:
            if step_name not in by_name:
                raise BookError(f"--param {item!r}: no step {step_name!r}; steps: {', '.join(by_name)}")
            by_name[step_name].params[name] = value
        else:
            hits = [s for s in steps if name in notebook_parameters(Path(notebooks) / s.notebook)]
            if not hits:
                allowed = sorted({p for s in steps for p in notebook_parameters(Path(notebooks) / s.notebook)})
                raise BookError(f"--param {item!r}: no notebook has a parameter {name!r}; "
                                f"allowed parameters: {', '.join(allowed)}")
            for s in hits:
                s.params[name] = value


# ------------------------------------------------------------------------------------- parameter checking

_INSPECT_CACHE: dict[tuple[str, float], dict[str, Any]] = {}


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The parameters cell of a notebook: name -> papermill's inferred info (default, type, help)."""
    from papermill import inspect_notebook

    path = Path(path)
    if not path.is_file():
        raise BookError(f"{path}: notebook not found")
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _INSPECT_CACHE:
        params = inspect_notebook(str(path))
        if not params:
            raise BookError(f"{path}: no cell tagged 'parameters' (papermill needs one to inject parameters)")
        _INSPECT_CACHE[key] = params
    return _INSPECT_CACHE[key]


def check_parameters(steps: Sequence[Step], notebooks: str | Path = "notebooks") -> None:
    """Every parameter of every step must be a name of its notebook's parameters cell; raises ``BookError``
    naming the step, the notebook, the misspelt names and the allowed ones. Also checks the dependencies."""
    notebooks = Path(notebooks)
    seen: set[str] = set()
    for step in steps:
        missing = [d for d in step.deps if d not in seen]
        if missing:
            raise BookError(f"step {step.name!r} depends on {missing}, which do not run before it")
        seen.add(step.name)
        allowed = notebook_parameters(notebooks / step.notebook)
        unknown = [k for k in step.params if k not in allowed]
        if unknown:
            names = ", ".join(repr(k) for k in unknown)
            raise BookError(f"{notebooks / step.notebook}: unknown parameter{'s' if len(unknown) > 1 else ''} "
                            f"{names} (step {step.name}); allowed parameters: {', '.join(allowed)}")
