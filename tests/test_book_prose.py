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


def test_each_framework_is_measured_over_its_own_start_and_anchor():
    cpu = resolve("cpu")  # a warm start around the spline: both are controls, push-pull is not
    own = studies.own_controls(cpu)
    assert list(own) == ["warm start", "spline"]
    scratch = resolve("study")  # from scratch the start is the anchor itself, once
    assert list(studies.own_controls(scratch)) == ["start (anchor)"]
    assert studies.own_controls(resolve("paper")) == {}


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


def test_every_table_and_figure_a_chapter_pastes_has_its_own_caption():
    """Issue 39: each glued table or figure is followed by its own bold caption paragraph (the provenance and
    findings lists are neither)."""
    import re
    from pathlib import Path

    lists = {"setup", "findings", "headline", "perphoto_setup", "fig9_setup"}
    missing = []
    for page in sorted((Path(__file__).resolve().parents[1] / "book").glob("*.md")):
        text = page.read_text()
        for m in re.finditer(r"```\{glue:\} (\w+)\n:doc: [^\n]+\n```\n", text):
            if m.group(1) not in lists and not text[m.end():].lstrip("\n").startswith("**"):
                missing.append(f"{page.name}: {m.group(1)}")
    assert not missing, f"pasted without a caption of its own: {missing}"
