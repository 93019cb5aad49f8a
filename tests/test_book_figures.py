"""The book's generated figures: the image grid's shared colour scale and colour bar (Fig. 7), and the framework
diagram (Fig. 2) drawn from the networks a config builds."""
import dataclasses

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from gdn.anchored import build_generator  # noqa: E402
from gdn.book import diagram, figures  # noqa: E402
from gdn.config import resolve  # noqa: E402
from gdn.networks import Detector, count_parameters  # noqa: E402


def _grid_columns():
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(2)]
    res = [0.4 + 0.3 * rng.random((16, 16)) for _ in range(2)]  # a result's map: higher, wider
    gt = [0.45 + 0.1 * rng.random((16, 16)) for _ in range(2)]  # the ground truth's: narrow
    return {"Masked": photos, "Result": photos, "M(Res)": res, "M(GT)": gt}, res + gt


def _clims_by_column(fig, n_rows):
    axes = [ax for ax in fig.axes if ax.get_label() != "colorbar"]
    n_cols = len(axes) // n_rows
    grid = np.array(axes, dtype=object).reshape(n_rows, n_cols)
    return {grid[0, j].get_title(): [im.get_clim() for ax in grid[:, j] for im in ax.get_images()]
            for j in range(n_cols)}


def test_image_grid_draws_every_map_on_one_shared_scale_with_a_colour_bar():
    cols, maps = _grid_columns()
    fig = figures.image_grid(cols, ["a", "b"], cmap_columns=["M(Res)", "M(GT)"], stretch=True, shared=True,
                             colorbar="V: artifact probability")
    clims = _clims_by_column(fig, 2)
    shared = {c for title in ("M(Res)", "M(GT)") for c in clims[title]}
    assert len(shared) == 1  # every map, both columns, every row: one vmin/vmax
    lo, hi = shared.pop()
    assert lo == pytest.approx(min(m.min() for m in maps)) and hi == pytest.approx(max(m.max() for m in maps))
    bars = [ax for ax in fig.axes if ax.get_label() == "colorbar"]
    assert len(bars) == 1 and bars[0].get_ylabel() == "V: artifact probability"
    assert bars[0].get_ylim() == pytest.approx((lo, hi))
    plt.close(fig)
    # without stretch: the absolute 0..1 scale of a probability, shared as well
    fig = figures.image_grid(cols, ["a", "b"], cmap_columns=["M(Res)", "M(GT)"], colorbar="V")
    clims = _clims_by_column(fig, 2)
    assert {c for t in ("M(Res)", "M(GT)") for c in clims[t]} == {(0.0, 1.0)}
    plt.close(fig)


def test_image_grid_keeps_its_old_behaviour_for_its_other_callers():
    cols, maps = _grid_columns()
    fig = figures.image_grid(cols, ["a", "b"], cmap_columns=["M(Res)", "M(GT)"], stretch=True)  # per map
    clims = _clims_by_column(fig, 2)
    assert clims["M(Res)"][0] == pytest.approx((maps[0].min(), maps[0].max()))
    assert clims["M(GT)"][1] == pytest.approx((maps[3].min(), maps[3].max()))
    assert not [ax for ax in fig.axes if ax.get_label() == "colorbar"] and len(fig.axes) == 8
    plt.close(fig)


def _texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(Text))


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_the_framework_diagram_lists_the_configs_networks(profile):
    cfg = resolve(profile)
    generator, detector = build_generator(cfg), Detector(cfg.critic_width)
    rows = diagram.layer_rows(generator)
    assert sum(r["params"] for r in rows) == count_parameters(generator)
    assert sum(r["params"] for r in diagram.layer_rows(detector)) == count_parameters(detector)
    fig = diagram.framework_diagram(cfg, f"{profile} profile")
    text = _texts(fig)
    w = cfg.width
    for channels in (w, 2 * w, 4 * w, 3):  # the generator's layers, from the network this config builds
        assert f"-> {channels:>4} ch" in text
    assert f"{cfg.res_blocks} x res block" in text and f"{count_parameters(generator):,} parameters" in text
    assert f"{count_parameters(detector):,} parameters" in text and f"-> {8 * cfg.critic_width:>4} ch" in text
    assert "Eq. 7" in text and "Eq. 8" in text and "focal loss (Eq. 6)" in text and f"{cfg.exp_base:g}^{{V}}" in text
    assert ("critic_corrupt" in text) == (cfg.critic_corrupt > 0) and ("critic_thin" in text) == (cfg.critic_thin > 0)
    plt.close(fig)
    thin = _texts(diagram.framework_diagram(dataclasses.replace(cfg, critic_thin=0.25, critic_corrupt=0.5)))
    assert "25% of its cool-down (critic_thin)" in thin and "50% of\neach batch (critic_corrupt)" in thin
    # another width, depth and losses draw another diagram
    other = dataclasses.replace(cfg, width=8, res_blocks=3, weight_mapping="linear", detector_loss="bce")
    fig = diagram.framework_diagram(other)
    text = _texts(fig)
    assert all(f"-> {c:>4} ch" in text for c in (8, 16, 32)) and f"{cfg.res_blocks} x res block" not in text
    assert all(line in text for line in diagram.layer_lines(build_generator(other)))
    assert "3 x res block" in text and "W = 1 + V" in text and "balanced cross entropy (Eq. 5)" in text
    plt.close(fig)
