"""The book's generated sentences that name what the config or the numbers decide (gdn.book.prose), and the
single-seed caveat stated once per page (issue 39): a build with another anchor, another learning rate, a tie
or several seeds says so."""
import dataclasses

import numpy as np
import pytest
import torch

from gdn.book import figures, prose, studies, tables
from gdn.config import resolve


@pytest.mark.parametrize("anchor, name", [("spline", "spline"), ("residual", "harmonic")])
def test_the_anchor_sentence_names_the_configs_anchor(anchor, name):
    cfg = dataclasses.replace(resolve("cpu"), colour_anchor=anchor)
    assert prose.anchor_name(cfg) == name
    text = prose.anchor_text(cfg)
    assert f"training-free {name} fill" in text
    other = {"spline": "harmonic", "harmonic": "spline"}[name]
    assert other not in text


def test_the_papers_generator_has_no_anchor_and_the_sentence_says_so():
    cfg = resolve("paper")
    assert prose.anchor_name(cfg) is None
    assert "no training-free anchor" in prose.anchor_text(cfg)


def test_the_learning_rate_ratio_is_computed_from_the_configs():
    cpu, study = resolve("cpu"), resolve("study")
    text = prose.schedule_text("cpu", cpu)
    words = prose.rate_fraction(cpu.lr, study.lr)
    assert words in text and f"{cpu.lr:g} against {study.lr:g}" in text
    assert prose.rate_fraction(1e-5, 2e-4) == "a twentieth of"  # not "a tenth"
    assert prose.rate_fraction(2e-5, 2e-4) == "a tenth of"
    assert prose.rate_fraction(3e-5, 2e-4) == "1/6.67 of"
    assert prose.rate_fraction(4e-4, 2e-4) == "2x" and prose.rate_fraction(2e-4, 2e-4) == ""
    faster = dataclasses.replace(cpu, lr=2e-5)
    assert "a tenth of the study profile's" in prose.schedule_text("cpu", faster)
    assert "from scratch" in prose.schedule_text("study", study)


def test_a_tie_at_the_shown_precision_names_every_tied_method():
    assert prose.best_text({"CE": 24.481, "BCE": 24.2, "Focal": 24.478}) == "a tie: CE and Focal (24.48 dB each)"
    assert prose.best_text({"CE": 24.41, "BCE": 24.2, "Focal": 24.478}) == "Focal (24.48 dB)"


def test_the_single_seed_caveat_is_stated_once_per_page():
    rng = np.random.default_rng(4)
    pairs = rng.normal(20, 1, size=50)
    scores = {"Det": {"psnr": pairs + 0.01, "ssim": pairs / 40}, "Weight": {"psnr": pairs, "ssim": pairs / 40},
              "Adv": {"psnr": pairs - 0.02, "ssim": pairs / 40}}

    class Rep:
        def __init__(self):
            self.texts = {}

        def text(self, key, text, caption=""):
            self.texts[key] = text

    rep = Rep()
    tables.report_orderings(rep, scores, [("Det", "Weight"), ("Det", "Adv")])
    page = " ".join(rep.texts.values())
    assert page.count("One seed per run") == 1 and "One seed per run" in rep.texts["seed_note"]
    assert "One seed per run" not in tables.orderings(scores, [("Det", "Weight")], note=False)
    seeded = {k: {m: np.stack([v] * 3) for m, v in d.items()} for k, d in scores.items()}
    rep = Rep()
    tables.report_orderings(rep, seeded, [("Det", "Weight")])
    assert "One seed per run" not in " ".join(rep.texts.values()) and "3 seeds" in rep.texts["seed_note"]
    assert prose.seed_note(1) == tables.single_seed_note() and prose.seed_note(5).strip()


def test_each_framework_is_measured_over_its_own_start_and_anchor():
    cpu = resolve("cpu")  # a warm start around the spline: both are controls, push-pull is not
    own = studies.own_controls(cpu)
    assert list(own) == ["warm start", "spline"]
    scratch = resolve("study")  # from scratch the start is the anchor itself, once
    assert list(studies.own_controls(scratch)) == ["start (anchor)"]
    assert studies.own_controls(resolve("paper")) == {}
    scores = {"Det": {"psnr": np.full(4, 25.0)}, "spline": {"psnr": np.full(4, 24.0)},
              "push-pull": {"psnr": np.full(4, 20.0)}}
    text = studies.gains_text(scores, ["Det"], ["spline"])
    assert text.startswith("Det - spline: +1.00") and "push-pull" not in text
    assert "None to measure" in studies.gains_text(scores, ["Det"], [])


def test_the_example_figures_caption_lists_its_columns():
    image = torch.rand(1, 3, 16, 16)
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:8, 4:8] = 1
    cols = figures.example_columns({"A": lambda x, m: x, "B": lambda x, m: x}, image, mask)
    assert figures.columns_text(cols) == "4 columns, left to right: ground truth, masked input, A, B"


def test_no_chapter_types_what_the_config_or_the_numbers_decide():
    """The sentences issue 39 found stale stay generated: no chapter types the anchor the generators learn around,
    the learning-rate ratio between profiles or a "best" method (the dated records are history, not the build)."""
    from pathlib import Path

    stale = ["around a training-free harmonic fill", "around a training-free spline fill",
             "of the study's learning rate", "the best here is"]
    for page in (Path(__file__).parents[1] / "book").glob("*.md"):
        if page.name != "records.md":
            text = " ".join(page.read_text().split())
            assert not [s for s in stale if s in text], page.name
