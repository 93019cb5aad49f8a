"""The book's sentences that name what a config or the numbers decide: the generators' anchor, a learning-rate
ratio between profiles, the method with the highest mean (or a tie). Generated, so that a build with another
anchor, another learning rate or other numbers says so. (The verdicts, and the single-seed rule a page states once:
:mod:`gdn.book.verdicts`.)"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["anchor_name", "anchor_text", "rate_fraction", "schedule_text", "best_text", "dose_text",
           "colour_cast_text"]

# colour_anchor -> the training-free fill's name (gdn.baselines), and what that fill is
_ANCHORS = {"residual": "harmonic", "spline": "spline"}
_ANCHOR_WORDS = {"harmonic": "each hole pixel the mean of its neighbours, gdn.baselines.harmonic",
                 "spline": "a thin-plate spline under tension, gdn.baselines.spline"}
_FRACTIONS = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth", 8: "an eighth", 10: "a tenth",
              20: "a twentieth", 40: "a fortieth", 50: "a fiftieth", 100: "a hundredth"}


def anchor_name(cfg) -> str | None:
    """The training-free fill a config's generator learns around (``"spline"``, ``"harmonic"``), or None for
    the paper's generator (``colour_anchor="none"``)."""
    return _ANCHORS.get(cfg.colour_anchor)


def anchor_text(cfg, subject: str = "All three generators") -> str:
    """One sentence on what the generators' colours come from: the anchor the config names, or none."""
    name = anchor_name(cfg)
    if name is None:
        return (f"{subject} are the paper's, with no training-free anchor (colour_anchor none): "
                "their colours are what they learned from the training photos.")
    return (f"{subject} learn detail around a training-free {name} fill of each hole ({_ANCHOR_WORDS[name]}; "
            "the residual generator, gdn.anchored), so their colours come from the photo at hand.")


def _length(cfg) -> str:
    return f"{cfg.steps:,} generator steps" if cfg.steps else f"{cfg.epochs} epochs"


def rate_fraction(lr: float, reference: float) -> str:
    """``lr`` against ``reference`` in words: 1e-5 of 2e-4 -> ``"a twentieth of"``, 4e-4 -> ``"2x"``, the same
    -> ``""``."""
    if lr == reference:
        return ""
    ratio = reference / lr
    if ratio > 1:
        whole = round(ratio)
        if abs(ratio - whole) < 1e-9 * ratio and whole in _FRACTIONS:
            return f"{_FRACTIONS[whole]} of"
        return f"1/{ratio:.3g} of"
    return f"{lr / reference:.3g}x"


def schedule_text(profile: str, cfg, reference_profile: str = "study") -> str:
    """How this build's runs train, against ``reference_profile``'s learning rate: ``"In the cpu profile the
    runs fine-tune a shared warm start for 300 generator steps at a twentieth of the study profile's learning
    rate (1e-05 against 0.0002), ..."``."""
    from gdn.config import resolve

    ref = resolve(reference_profile)
    if profile == reference_profile:
        return f"In the {profile} profile every run trains from scratch for {_length(cfg)} at lr {cfg.lr:g}."
    words = rate_fraction(cfg.lr, ref.lr)
    rate = (f"at {words} the {reference_profile} profile's learning rate ({cfg.lr:g} against {ref.lr:g})" if words
            else f"at the {reference_profile} profile's learning rate ({cfg.lr:g})")
    if cfg.init:
        return (f"In the {profile} profile the runs fine-tune a shared warm start for {_length(cfg)} "
                f"{rate}, so their curves can only drift apart a little.")
    return f"In the {profile} profile every run trains from scratch for {_length(cfg)} {rate}."


def best_text(means: Mapping[str, float], fmt: str = "{:.2f}", unit: str = "dB") -> str:
    """The method with the highest mean, or the methods that tie at the shown precision: ``"Focal (24.50 dB)"``,
    ``"a tie: CE and Focal (24.48 dB each)"``. Whether the difference is decided is the orderings' job."""
    shown = {name: fmt.format(v) for name, v in means.items()}
    top = max(means, key=lambda k: means[k])
    tied = [name for name in means if shown[name] == shown[top]]
    value = f"{shown[top]} {unit}".strip()
    if len(tied) == 1:
        return f"{top} ({value})"
    names = ", ".join(tied[:-1]) + f" and {tied[-1]}"
    return f"a tie: {names} ({value} each)"


def dose_text(runs: Mapping[str, Sequence[Sequence[Mapping[str, float]]]], key: str = "val_psnr",
              unit: str = " dB", fmt: str = "{:.2f}") -> str:
    """What a dose-response panel shows (:func:`gdn.book.figures.plot_dose_response`): per run, the mean over
    seeds of the log column ``key`` at its first and last validation, with the seeds' range at the last."""
    from gdn.book.runs import dose_response

    parts = []
    for label, logs in runs.items():
        c = dose_response(logs, key)
        if not len(c["step"]):
            continue
        v = c["values"]
        last = v[:, -1]
        spread = f" (seeds {fmt.format(last.min())} to {fmt.format(last.max())})" if len(last) > 1 else ""
        parts.append(f"{label} {fmt.format(v[:, 0].mean())}{unit} at step {c['step'][0]:.0f}, "
                     f"{fmt.format(last.mean())}{unit} at step {c['step'][-1]:.0f}{spread}")
    return ("; ".join(parts) + ".") if parts else f"No run logged {key} during training (eval_every = 0)."


def colour_cast_text(casts: Mapping[str, np.ndarray]) -> str:
    """One sentence per method on :func:`gdn.book.studies.colour_cast`: each channel's mean signed error in the
    holes with its 95 % interval over the pairs, and which channels are biased (interval excluding zero)."""
    from gdn.stats import bootstrap_mean, format_ci

    parts = []
    for name, err in casts.items():
        stats = [bootstrap_mean(err[..., c]) for c in range(3)]  # err (N,3) or (S,N,3)
        cells = ", ".join(f"{ch} {format_ci(st, '{:.1f}', signed=True)}" for ch, st in zip("RGB", stats))
        biased = [f"{ch} {'high' if st['lo'] > 0 else 'low'}" for ch, st in zip("RGB", stats)
                  if st["lo"] > 0 or st["hi"] < 0]
        parts.append(f"{name}: {cells} ({'biased: ' + ', '.join(biased) if biased else 'no channel biased'})")
    return "; ".join(parts) + "."
