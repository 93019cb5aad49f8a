"""Each page's verdicts as one table, and its findings as a short list.

A verdict row is one comparison ``better - worse`` on one metric: the paired difference over the same pairs (and
seeds), its 95 % bootstrap interval (:mod:`gdn.stats`) and what the interval decides. One rule holds for every
build that trains one seed per run: a difference smaller than the seed spread recorded *for the recipe the build
runs* (:func:`seed_record`) is "not decided at one seed", whatever its interval over the pairs, and a metric with
no recorded spread is never decided at one seed. The page states that rule once (:func:`seed_rule`).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from gdn.evaluation.protocol import FORMATS
from gdn.stats import (detectable, format_ci, paired_difference, precise, probability_of_improvement, seed_count,
                       verdict)

__all__ = ["UNITS", "seed_record", "seed_rule", "verdict_rows", "report_verdicts", "summary", "study_findings",
           "study_brief"]

# metric -> (its name in a verdict, its unit)
UNITS = {"psnr": ("PSNR", "dB"), "ssim": ("SSIM", ""), "l1": ("l1", "%"), "auroc": ("AUROC", ""),
         "edge": ("hole edge ratio", "points")}


def seed_record(cfg) -> Mapping[str, Any]:
    """The seed spread recorded for the recipe ``cfg`` runs (:mod:`gdn.book.records`): a fine-tune of the
    cpu warm start cites the cpu profile's own seeds; a run from scratch the study profile's."""
    from gdn.book.records import CPU_SEEDS, STUDY_SEEDS

    return CPU_SEEDS if cfg is not None and cfg.init == CPU_SEEDS["init"] else STUDY_SEEDS


def _spread_text(record: Mapping[str, Any]) -> str:
    return ", ".join(f"{UNITS[m][0]} {v:.2g}{' ' + UNITS[m][1] if UNITS[m][1] else ''}"
                     for m, v in record["spreads"].items())


def seed_rule(seeds: int, record: Mapping[str, Any] | None) -> str:
    """The caveat and the rule a page's verdicts share, stated once per page. ``record=None``: every random
    choice is drawn anew for each pair (per-photo learning), so the pairs' intervals hold it."""
    if record is None:
        return ("Every pair draws its own random choices (its adaptation's seed and masks), so these intervals over "
                "the pairs hold that randomness; the generator they start from is one fixed checkpoint, so the "
                "verdicts are about that start.")
    if seeds > 1:
        return (f"Every interval on this page is a two-level bootstrap over the {seeds} seeds of each run, then the "
                "image/mask pairs: it holds the seeds' variance too.")
    return (f"One seed per run: these intervals hold the pairs' variance, not the seeds'. The rule: a difference "
            f"smaller than the seed spread measured for this recipe ({record['recipe']}; {record['seeds']} seeds, "
            f"{record['when']}, commit {record['commit']}: seeds alone moved a run's mean by up to "
            f"{_spread_text(record)}) is not decided at one seed, and a metric with no measured spread is never "
            "decided at one seed. make book PROFILE=study puts the seeds in the intervals.")


def verdict_rows(scores: Mapping[str, Any], claims: Sequence[tuple[str, str]], metric: str = "psnr", *,
                 record: Mapping[str, Any] | None, source: str = "the paper's") -> list[dict[str, Any]]:
    """One row per ``(better, worse)`` claim on ``metric``: ``scores[name]`` is per-pair values ``(N,)`` or
    ``(S, N)``, or a mapping of such per metric. ``source`` names whose claim it is ("the paper's", "" for a
    plain comparison). The verdict follows the module's rule (none with ``record=None``: :func:`seed_rule`)."""
    label, unit = UNITS.get(metric, (metric, ""))
    fmt = FORMATS.get(metric, "{:.3f}")
    rows = []
    for better, worse in claims:
        a, b = (scores[n][metric] if isinstance(scores[n], Mapping) else scores[n] for n in (better, worse))
        diff = paired_difference(a, b)
        seeds = max(seed_count(a), seed_count(b))
        f = precise(fmt, diff)
        text = format_ci(diff, f, signed=True)
        head, _, interval = text.partition(" ")
        v = verdict(diff)
        if not source and v != "within noise":  # no claim to hold or reverse: say which is higher
            v = f"{better if v == 'holds' else worse} higher"
        ruled = seeds == 1 and record is not None
        spread = record["spreads"].get(metric, math.nan) if ruled else math.nan
        if ruled and not abs(diff["mean"]) >= spread:
            v = ("not decided at one seed: no seed spread measured" if math.isnan(spread) else
                 f"not decided at one seed: below the seed spread {spread:.2g}{' ' + unit if unit else ''}")
        elif v == "within noise":
            v = f"within noise: |difference| < {f.format(detectable(diff))}{' ' + unit if unit else ''}"
        row = {"comparison": f"{better} - {worse}", "metric": f"{label}{', ' + unit if unit else ''}",
               "difference": head, "95 % interval": interval, "verdict": v,
               "claim": f"{source} ({better} above {worse})".strip() if source else "",
               "_diff": diff, "_seeds": seeds}
        if seeds > 1:
            row["P(better)"] = format_ci(probability_of_improvement(a, b))
        rows.append(row)
    return rows


def report_verdicts(rep, rows: Sequence[Mapping[str, Any]], *, seeds: int, record: Mapping[str, Any] | None,
                    key: str = "verdicts", caption: str = "What this page's comparisons decide") -> None:
    """The page's one verdict table (``key``) and its rule, stated once (``seed_note``), written to ``rep``."""
    columns = ["comparison", "metric", "difference", "95 % interval", "verdict"]
    if any(r.get("claim") for r in rows):
        columns.append("claim")
    if any("P(better)" in r for r in rows):
        columns.append("P(better)")
    rep.table(rows, key, caption, columns=columns,
              note="difference: the mean over the same image/mask pairs (and seeds); 95 % paired bootstrap interval")
    rep.text("seed_note", seed_rule(seeds, record), "the caveat and the rule the page's verdicts share, once")


def summary(what: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """One finding from verdict rows of one metric: ``what`` and the metric, each comparison's difference and
    interval, and the verdict, said once when the rows share it: ``"Over the start (PSNR): Det - warm start -0.00
    [-0.02, +0.01] dB, Adv - warm start ... dB: not decided at one seed: ..."``. Empty without rows."""
    if not rows:
        return ""
    label, _, unit = rows[0]["metric"].partition(", ")
    shared = len({r["verdict"] for r in rows}) == 1
    parts = [f"{r['comparison']} {r['difference']} {r['95 % interval']}{' ' + unit if unit else ''}"
             + ("" if shared else f", {r['verdict']}") for r in rows]
    return (f"{what} ({label}): " + (", ".join(parts) + f": {rows[0]['verdict']}." if shared else
                                     "; ".join(parts) + "."))


def study_findings() -> list[tuple[str, str, str]]:
    """The study profile's verdicts (several seeds, from scratch), quoted from its dated record with its date
    and commit (:data:`gdn.book.records.STUDY_VERDICTS`), as findings items."""
    from gdn.book.records import STUDY_VERDICTS as r

    items = []
    for (better, worse, metric), diff in r["diffs"].items():
        label, unit = UNITS[metric]
        fmt = FORMATS[metric]
        v = verdict(diff)
        said = {"holds": "the paper's ordering holds", "reverses": f"the paper's ordering reverses: {worse} is higher",
                "within noise": "within noise"}[v] if r["claims"].get((better, worse)) else v
        items.append((f"Study profile ({r['seeds']}, from scratch; record of {r['when']}, commit {r['commit']}): "
                      f"{better} - {worse} {format_ci(diff, fmt, signed=True)} {unit + ' ' if unit else ''}{label}, "
                      f"{said}.", "the record", f"records.html#{r['anchor']}"))
    return items


def study_brief(metric: str = "psnr") -> tuple[str, str, str]:
    """The study's verdicts on ``metric`` in one findings item (:func:`study_findings`, for the introduction)."""
    from gdn.book.records import STUDY_VERDICTS as r

    label, unit = UNITS[metric]
    diffs = {(b, w): d for (b, w, m), d in r["diffs"].items() if m == metric}
    said = {verdict(d) for d in diffs.values()}
    how = {"holds": "the paper's ordering holds", "reverses": "the paper's ordering reverses"}
    parts = ", ".join(f"{b} - {w} {format_ci(d, FORMATS[metric], signed=True)}"
                      + ("" if len(said) == 1 else f" ({how.get(verdict(d), verdict(d))})") for (b, w), d in diffs.items())
    many = {"holds": "the paper's orderings hold", "reverses": "the paper's orderings reverse"}
    tail = f": {(many if len(diffs) > 1 else how).get(said.pop(), 'within noise')}" if len(said) == 1 else ""
    text = (f"From scratch, {r['seeds']} (the study profile; record of {r['when']}, commit {r['commit']}): {parts} "
            f"{unit + ' ' if unit else ''}{label}{tail}.")
    return text, "the record", f"records.html#{r['anchor']}"
