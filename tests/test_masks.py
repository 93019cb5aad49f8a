"""gdn.masks: free-form masks (paper Sec. 4.1), the Table 1 bins, mask banks and external mask files."""
import hashlib
import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from gdn import masks as M
from gdn.masks import (
    BIN_LABELS, RATIO_BINS, check_mask, hole_ratio, irregular_mask, load_masks, mask_bank, mask_bank_bins,
    random_mask, ratio_bin,
)


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- bins

def test_ratio_bins_are_right_closed():
    assert ratio_bin(0.1) == 0
    assert ratio_bin(0.1000001) == 1
    assert ratio_bin(0.01) is None
    assert ratio_bin(0.0100001) == 0
    assert ratio_bin(0.6) == 5
    assert ratio_bin(0.6000001) is None
    assert ratio_bin(0.0) is None
    assert len(RATIO_BINS) == len(BIN_LABELS) == 6
    assert BIN_LABELS[0] == "(0.01,0.1]" and BIN_LABELS[5] == "(0.5,0.6]"


# ---------------------------------------------------------------- irregular_mask

@pytest.mark.parametrize("size,shape", [(64, (64, 64)), ((48, 80), (48, 80)), ((256, 256), (256, 256))])
def test_irregular_mask_is_binary_uint8_of_the_right_shape(size, shape):
    for seed in range(5):
        m = irregular_mask(size, rng(seed))
        assert m.shape == shape and m.dtype == np.uint8
        assert set(np.unique(m).tolist()) <= {0, 1}
        assert m.any()


def test_same_seed_same_mask_different_seed_different_mask():
    a = irregular_mask(128, rng(7), target_ratio=0.3)
    b = irregular_mask(128, rng(7), target_ratio=0.3)
    c = irregular_mask(128, rng(8), target_ratio=0.3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        irregular_mask(64, 0)


@pytest.mark.parametrize("target", [0.05, 0.3, 0.55])
def test_target_ratio_is_reached_with_a_small_overshoot(target):
    r = rng(1)
    ratios = [hole_ratio(irregular_mask(128, r, target_ratio=target)) for _ in range(8)]
    assert min(ratios) >= target
    # one segment adds at most a few percent; Table 1 bins are 10 % wide
    assert max(ratios) < target + 0.07


def test_border_constraint_leaves_the_margin_empty():
    size = 128
    m_px = round(M.BORDER_FRACTION * size)  # 11 px, the official 23 px at 256
    touches = 0
    r = rng(2)
    for _ in range(10):
        m = irregular_mask(size, r, target_ratio=0.15, border=True)
        assert m.any()
        frame = m.copy()
        frame[m_px:size - m_px, m_px:size - m_px] = 0
        assert frame.sum() == 0
        # and the holes do reach the allowed region's edge sometimes: the constraint crops, it does not shrink
        touches += m[m_px].any() or m[size - m_px - 1].any() or m[:, m_px].any() or m[:, size - m_px - 1].any()
    assert touches > 0
    # without the constraint, strokes are cut by the image edge (the random crop)
    edge = [irregular_mask(size, r, target_ratio=0.15) for _ in range(10)]
    assert any(e[0].any() or e[-1].any() or e[:, 0].any() or e[:, -1].any() for e in edge)
    m = irregular_mask(size, rng(3), target_ratio=0.1, border=True, margin=30)
    assert m[:30].sum() == m[-30:].sum() == m[:, :30].sum() == m[:, -30:].sum() == 0


def _full_pipeline(d):
    """Recompute a drawn mask from its canvas in one go: rotate (gather), dilate, crop, border."""
    g = d.canvas.take(d.index)  # (H+2dh, W+2dh): rotated frame around the crop
    g = M._dilate(g, d.dh)  # (H, W): dilated, cropped
    y0, y1, x0, x1 = d.region
    out = np.zeros_like(g)
    out[y0:y1, x0:x1] = g[y0:y1, x0:x1]
    return out


@pytest.mark.parametrize("target,border", [(None, False), (0.2, False), (0.45, False), (0.15, True)])
def test_lazy_evaluation_equals_the_literal_pipeline(target, border):
    # the generator refreshes only boxes around new strokes; the result must be the whole pipeline's
    for seed in range(4):
        d = M._draw_irregular(96, rng(seed), target, border, 8, 16, (0.02, 0.1), (0.02, 0.105),
                              (0.04, 0.14), None, 2000)
        assert np.array_equal(d.out, _full_pipeline(d))
        assert d.holes == int(d.out.sum())


def test_rotation_is_a_rotation_by_a_random_angle():
    angles = []
    for seed in range(12):
        d = M._Doodle(64, 64, rng(seed), False, None, (0.02, 0.1))
        angles.append(d.theta)
        # walking 40 px along an output row moves 40 px on the canvas, in direction -theta
        a = int(d.index[d.dh + 10, d.dh + 10])
        b = int(d.index[d.dh + 10, d.dh + 50])
        dy, dx = b // d.C - a // d.C, b % d.C - a % d.C
        assert math.hypot(dy, dx) == pytest.approx(40, abs=1.5)
        assert dy == pytest.approx(-40 * math.sin(d.theta), abs=1.5)
        assert dx == pytest.approx(40 * math.cos(d.theta), abs=1.5)
    # angles cover the circle, not a few axis-aligned values
    assert min(angles) < -math.pi / 2 and max(angles) > math.pi / 2
    assert len({round(a, 3) for a in angles}) == len(angles)


def test_dilation_leaves_no_stroke_thinner_than_its_kernel():
    # a dilation by a square B is B-open: opening it with B changes nothing (pixels outside the crop or
    # the border region are treated as hole, since the crop may have cut the strokes there)
    for seed in range(6):
        d = M._draw_irregular(96, rng(seed), 0.25, seed % 2 == 1, 8, 16, (0.02, 0.1), (0.04, 0.105),
                              (0.04, 0.14), None, 2000)
        k = 2 * d.dh + 1
        assert d.dh >= 1
        y0, y1, x0, x1 = d.region
        inner = d.out[y0:y1, x0:x1].astype(bool)
        padded = np.pad(inner, k, constant_values=True)
        opened = ndimage.binary_dilation(ndimage.binary_erosion(padded, np.ones((k, k)), border_value=1),
                                         np.ones((k, k)))[k:-k, k:-k]
        assert np.array_equal(opened, inner)
    # the check can fail: a 1 px line is not open under a 3x3 square
    line = np.zeros((20, 20), bool)
    line[10, 2:18] = True
    assert not np.array_equal(ndimage.binary_opening(line, np.ones((3, 3))), line)


def test_masks_are_not_all_axis_aligned():
    # principal directions of the hole pixels spread over many angles
    r = rng(4)
    angles = []
    for _ in range(30):
        m = irregular_mask(96, r, target_ratio=0.08)
        ys, xs = np.nonzero(m)
        cov = np.cov(np.stack([xs, ys]).astype(float))
        angles.append(0.5 * math.degrees(math.atan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])) % 180)
    hist = np.histogram(angles, bins=6, range=(0, 180))[0]
    assert (hist > 0).sum() >= 4


# ---------------------------------------------------------------- random_mask and mask_bank

def test_random_mask_ratio_range_and_reproducibility():
    r = rng(5)
    ratios = [hole_ratio(random_mask(64, r)) for _ in range(30)]
    assert all(0.01 < x <= 0.6 for x in ratios)
    assert min(ratios) < 0.2 and max(ratios) > 0.4  # spread over the range
    assert np.array_equal(random_mask(64, rng(9)), random_mask(64, rng(9)))
    narrow = [hole_ratio(random_mask(64, r, ratio_range=(0.3, 0.4))) for _ in range(5)]
    assert all(0.3 < x <= 0.4 for x in narrow)


def test_mask_bank_has_exactly_per_bin_masks_in_every_bin():
    bank = mask_bank(per_bin=3, size=64, seed=0)
    assert len(bank) == 18
    expected = [b for b in range(6) for _ in range(3)]
    assert mask_bank_bins(bank).tolist() == expected
    assert [ratio_bin(hole_ratio(m)) for m in bank] == expected
    for m in bank:
        assert m.shape == (64, 64) and m.dtype == np.uint8 and set(np.unique(m).tolist()) <= {0, 1}
    assert all(np.array_equal(a, b) for a, b in zip(bank, mask_bank(per_bin=3, size=64, seed=0)))
    assert not all(np.array_equal(a, b) for a, b in zip(bank, mask_bank(per_bin=3, size=64, seed=1)))


def test_mask_bank_checksum_pins_cross_machine_reproducibility():
    # Computed once with numpy 2.x PCG64 on x86-64 (gdn 0.1.0). The generator uses only uniform/integer
    # draws and integer geometry, so any machine must give these bytes; a change here means the masks of
    # every evaluation table changed too.
    bank = mask_bank(per_bin=2, size=64, seed=0)
    digest = hashlib.sha256(b"".join(m.tobytes() for m in bank)).hexdigest()
    assert digest == "c42ff8feb59e7b25447bd39037476242f9ba05718f47670da63aead9bd558f44"


# ---------------------------------------------------------------- load_masks

def _pattern(h=64, w=64):
    a = np.zeros((h, w), np.uint8)
    a[8:40, 10:30] = 255
    a[44:60, 40:62] = 255
    return a


def test_load_masks_gray_png_threshold_at_128(tmp_path):
    a = _pattern()
    a[0, 0], a[0, 1] = 128, 127  # >= 128 is a hole, 127 is not
    Image.fromarray(a).save(tmp_path / "m.png")
    (m,) = load_masks(tmp_path, 64)
    assert m.dtype == np.uint8 and m.shape == (64, 64)
    assert np.array_equal(m, (a >= 128).astype(np.uint8))


def test_load_masks_rgb_jpeg_residue_is_rebinarised(tmp_path):
    a = _pattern()
    Image.fromarray(np.stack([a] * 3, axis=2)).save(tmp_path / "m.jpg", quality=60)
    raw = np.asarray(Image.open(tmp_path / "m.jpg"))
    assert raw.ndim == 3 and not set(np.unique(raw).tolist()) <= {0, 255}  # the file does have residue
    (m,) = load_masks(tmp_path / "m.jpg", 64)
    assert set(np.unique(m).tolist()) == {0, 1}
    assert (m == (a > 0)).mean() > 0.99


def test_load_masks_invert_polarity(tmp_path):
    a = _pattern()
    Image.fromarray(a).save(tmp_path / "m.png")
    (m,) = load_masks(tmp_path, 64)
    (mi,) = load_masks(tmp_path, 64, invert=True)
    assert np.array_equal(mi, 1 - m)


def test_load_masks_resizes_and_rebinarises(tmp_path):
    a = _pattern(64, 64)
    Image.fromarray(a).save(tmp_path / "m.png")
    (half,) = load_masks(tmp_path, 32)
    # the pattern is made of 2x2 blocks: a 2x downscale must recover them exactly
    assert np.array_equal(half, (a[::2, ::2] > 0).astype(np.uint8))
    (up,) = load_masks(tmp_path, (100, 150))
    assert up.shape == (100, 150) and set(np.unique(up).tolist()) == {0, 1}
    assert hole_ratio(up) == pytest.approx(hole_ratio(a > 0), abs=0.02)
    # a resize of a soft-edged mask is binary again
    assert set(np.unique(M.resize_mask(np.eye(8), 13)).tolist()) <= {0, 1}


def test_load_masks_folder_is_recursive_and_sorted_and_list_files_are_relative(tmp_path, monkeypatch):
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    for name, v in [("b/1.png", 255), ("a/2.png", 0), ("a/10.bmp", 255)]:
        Image.fromarray(np.full((16, 16), v, np.uint8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a mask")
    masks = load_masks(tmp_path, 16)
    assert [int(m.max()) for m in masks] == [1, 0, 1]  # a/10.bmp, a/2.png, b/1.png
    lst = tmp_path / "a" / "list.txt"
    lst.write_text("# test masks\n../b/1.png\n\n2.png\n")
    monkeypatch.chdir(tmp_path / "b")  # relative to the list, not to the working directory
    assert [int(m.max()) for m in load_masks(lst, 16)] == [1, 0]
    assert len(load_masks([str(tmp_path / "a" / "2.png")], 16)) == 1


def test_load_masks_unreadable_file_raises_naming_it(tmp_path):
    Image.fromarray(_pattern()).save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(ValueError, match="broken.png"):
        load_masks(tmp_path, 64)
    with pytest.raises(ValueError, match="missing.png"):
        load_masks([tmp_path / "missing.png"], 64)


def test_load_masks_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no mask files"):
        load_masks(tmp_path, 64)
    with pytest.raises(FileNotFoundError):
        load_masks(tmp_path / "nowhere", 64)


# ---------------------------------------------------------------- check_mask

def test_check_mask_accepts_binary_and_rejects_the_rest():
    check_mask(np.array([[0, 1]], np.uint8))
    check_mask(torch.tensor([[0.0, 1.0]]))
    check_mask(np.array([True, False]))
    with pytest.raises(ValueError, match=r"my_mask: found values other than 0 and 1.*0\.5.*re-binarise"):
        check_mask(np.array([0.0, 0.5, 1.0]), name="my_mask")
    with pytest.raises(ValueError, match="255"):
        check_mask(torch.tensor([0, 255], dtype=torch.uint8))


# ---------------------------------------------------------------- stroke masks (Fig. 9)

def _runs(m: np.ndarray, structure) -> np.ndarray:
    # each pixel of m: the length (pixels) of the run of holes through it along one direction
    lab, _ = ndimage.label(m, structure)
    return np.bincount(lab.ravel())[lab]


def _measured_width(m: np.ndarray) -> float:
    """The stroke width read off a drawn mask: per hole pixel, the shortest run of holes through it across four
    directions (diagonal runs scaled by sqrt 2), which is the band's width within 8 % at any angle; the median
    over the pixels ignores the crossings and the caps."""
    m = m.astype(bool)
    horizontal, vertical = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]]), np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0]])
    runs = [_runs(m, horizontal), _runs(m, vertical), _runs(m, np.eye(3, dtype=int)) * math.sqrt(2),
            _runs(m, np.fliplr(np.eye(3, dtype=int))) * math.sqrt(2)]
    return float(np.median(np.minimum.reduce(runs)[m]))


@pytest.mark.parametrize("width", [1, 2, 4, 8, 16])
def test_stroke_masks_are_as_wide_as_asked(width):
    from gdn.mask_strokes import stroke_mask

    for seed in range(3):
        m = stroke_mask(256, rng(seed), width, target_ratio=0.08)
        assert m.shape == (256, 256) and m.dtype == np.uint8 and set(np.unique(m).tolist()) == {0, 1}
        assert abs(_measured_width(m) - width) <= max(0.5, 0.1 * width), (seed, _measured_width(m))
    # a one-pixel scratch is a one-pixel line: no 2x2 block of holes anywhere off its crossings
    thin = stroke_mask(256, rng(0), 1, target_ratio=0.02)
    blocks = thin[:-1, :-1] & thin[1:, :-1] & thin[:-1, 1:] & thin[1:, 1:]
    assert blocks.sum() < 0.02 * thin.sum()


@pytest.mark.parametrize("width,target", [(1, 0.01), (2, 0.1), (4, 0.3), (16, 0.1), (1.5, 0.05)])
def test_stroke_masks_reach_their_hole_ratio(width, target):
    from gdn.mask_strokes import stroke_mask

    size = (96, 128)
    dab = math.pi * width ** 2 / 4 / (size[0] * size[1])  # a new stroke's first dab cannot be cut
    for seed in range(4):
        ratio = hole_ratio(stroke_mask(size, rng(seed), width, target_ratio=target))
        assert target <= ratio <= target + max(2 * width / (size[0] * size[1]), dab) + 1e-9, (seed, ratio)


def test_stroke_masks_are_reproducible_from_the_rng():
    from gdn.mask_strokes import stroke_bank, stroke_mask

    a = stroke_mask(64, rng(3), 2, target_ratio=0.1)
    assert np.array_equal(a, stroke_mask(64, rng(3), 2, target_ratio=0.1))
    assert not np.array_equal(a, stroke_mask(64, rng(4), 2, target_ratio=0.1))
    assert not np.array_equal(a, stroke_mask(64, rng(3), 4, target_ratio=0.1))
    counted = stroke_mask(64, rng(3), 2, target_ratio=None, n_strokes=2)
    assert 0 < hole_ratio(counted) < 0.3 and np.array_equal(counted, stroke_mask(64, rng(3), 2, target_ratio=None,
                                                                                   n_strokes=2))
    bank = stroke_bank(2, 64, seed=0, width=3)
    assert mask_bank_bins(bank).tolist() == [b for b in range(6) for _ in range(2)]
    assert all(np.array_equal(x, y) for x, y in zip(bank, stroke_bank(2, 64, seed=0, width=3)))


def test_scratch_masks_add_thin_strokes_to_about_their_share_of_a_batch():
    import torch

    from gdn.mask_strokes import SCRATCH_RATIOS, SCRATCH_WIDTHS, scratch_masks

    batch = torch.zeros(64, 1, 64, 64)
    batch[::2, :, 40:, 40:] = 1  # every other sample has a square hole of its own, which must stay
    kept = batch.clone()
    out = scratch_masks(batch, 0.25, rng(0))
    assert torch.equal(batch, kept) and out.shape == batch.shape and out.dtype == batch.dtype
    assert torch.equal(torch.maximum(out, batch), out) and set(out.unique().tolist()) == {0.0, 1.0}
    scratched = [i for i in range(64) if not torch.equal(out[i], batch[i])]
    assert 8 <= len(scratched) <= 24  # Binomial(64, 0.25): mean 16
    for i in scratched:
        strokes = (out[i, 0] - batch[i, 0]).numpy().astype(np.uint8)  # the strokes off the sample's own holes
        low = SCRATCH_RATIOS[0] * (0.5 if i % 2 == 0 else 1)  # a stroke may cross the square
        assert low <= hole_ratio(strokes) <= SCRATCH_RATIOS[1] + 0.02
        assert SCRATCH_WIDTHS[0] - 0.5 <= _measured_width(strokes) <= SCRATCH_WIDTHS[1] + 0.5
    assert torch.equal(out, scratch_masks(batch, 0.25, rng(0)))  # the rng decides everything
    assert torch.equal(scratch_masks(batch, 0.0, rng(0)), batch)
    assert all(not torch.equal(m, b) for m, b in zip(scratch_masks(batch, 1.0, rng(1)), batch))


@pytest.mark.parametrize("width,message", [(0, "at least 1 px"), (0.5, "at least 1 px"), (-2, "at least 1 px"),
                                           (float("nan"), "at least 1 px"), ("thin", "number of pixels"),
                                           (True, "number of pixels"), (None, "number of pixels"),
                                           (65, "wider than the 64x64 mask")])
def test_a_bad_stroke_width_is_a_clear_error(width, message):
    from gdn.mask_strokes import stroke_bank, stroke_mask

    with pytest.raises(ValueError, match=message):
        stroke_mask(64, rng(0), width)
    with pytest.raises(ValueError, match=message):
        stroke_bank(1, 64, width=width)


def test_stroke_masks_reject_a_bad_ratio_and_a_width_no_bin_can_hold():
    from gdn.mask_strokes import stroke_bank, stroke_mask

    for target in (0, 1, 1.5):
        with pytest.raises(ValueError, match="target_ratio"):
            stroke_mask(64, rng(0), 2, target_ratio=target)
    with pytest.raises(TypeError, match="Generator"):
        stroke_mask(64, 0, 2)
    with pytest.raises(ValueError, match=r"cannot make a mask in bin \(0.01,0.1\]"):
        stroke_bank(1, 64, width=40)  # one 40 px dab covers 31 % of 64 x 64


def test_written_stroke_banks_read_back_as_the_same_masks(tmp_path):
    from gdn.mask_strokes import stroke_bank, write_stroke_bank

    folder = write_stroke_bank(tmp_path, 1, (48, 64), seed=2, width=2)
    assert folder.parent == tmp_path and "2px" in folder.name and "48x64" in folder.name
    assert sorted(p.name for p in folder.iterdir()) == [f"bin{b}_000.png" for b in range(6)]
    back = load_masks(folder, (48, 64))
    assert all(np.array_equal(a, b) for a, b in zip(back, stroke_bank(1, (48, 64), seed=2, width=2)))
