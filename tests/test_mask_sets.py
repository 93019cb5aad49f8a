"""Liu et al.'s test masks (published order, bins, polarity, border halves) and QD-IMD drawings processed on the
fly, on stand-ins shaped like the downloads (tests/standins.py)."""
import numpy as np
import pytest

import standins
from gdn.config import resolve
from gdn.evaluation.protocol import bin_groups
from gdn.mask_sets import MaskSet, QuickDrawMasks, liu_test_masks, paired_test_masks
from gdn.masks import BIN_LABELS, BORDER_FRACTION, hole_ratio, ratio_bin


@pytest.fixture(scope="module")
def liu(tmp_path_factory):
    return standins.liu_masks(tmp_path_factory.mktemp("liu") / "testing_mask_dataset")


def test_liu_masks_come_in_their_published_bins_with_the_border_halves_told_apart(liu, tmp_path):
    bins = liu_test_masks(liu)
    assert [b.label for b in bins] == list(BIN_LABELS)
    assert [b.files[0].name for b in bins] == [f"{2000 * k:05d}.png" for k in range(6)]
    assert all(len(b.files) == 2000 and len(b.border_files) == len(b.free_files) == 1000 for b in bins)
    assert not bins[0].invert
    # the stand-in's constrained half is the first in the small bins; one with it second is read the same way
    assert bins[0].border_files[0].name == "00000.png" and bins[0].touching == (0.0, 1.0)
    other = liu_test_masks(standins.liu_masks(tmp_path / "second", border_first=False, black_holes=True, seed=1))
    assert other[0].invert  # black holes, found from the files
    assert other[0].border_files[0].name == "01000.png" and other[0].free_files[0].name == "00000.png"
    for b in other[:2]:
        masks = paired_test_masks([b], 4, 32, border="with")
        m = max(1, round(BORDER_FRACTION * 32))
        assert all(x[:m].sum() == 0 and x[-m:].sum() == 0 for x in masks)


def test_every_test_image_meets_every_bin_in_a_fixed_order(liu):
    n_images = 5
    masks = paired_test_masks(liu_test_masks(liu), n_images, 16)
    assert isinstance(masks, MaskSet) and len(masks) == 6 * n_images
    assert list(masks.bins) == [b for b in range(6) for _ in range(n_images)]
    groups = dict(bin_groups(masks))
    # each bin holds every image once (mask k is paired with image k mod n_images), whatever a mask's ratio
    # became at 16 px: the published bin counts
    for b, label in enumerate(BIN_LABELS):
        assert sorted(np.flatnonzero(groups[label]) % n_images) == list(range(n_images))
    again = paired_test_masks(liu_test_masks(liu), n_images, 16)
    assert all((a == b).all() for a, b in zip(masks, again))


def test_a_wrong_liu_download_is_one_clear_error(liu, tmp_path):
    with pytest.raises(ValueError, match="found 12,000 mask files, expected 600"):
        liu_test_masks(liu, total=600)
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    files = sorted(liu.glob("*.png"))
    for k, f in enumerate(files):  # bins in the reverse order
        (shuffled / f"{11999 - k:05d}.png").write_bytes(f.read_bytes())
    with pytest.raises(ValueError, match=r"bin \(0.01,0.1\].*outside the bin"):
        liu_test_masks(shuffled)


def test_quickdraw_drawings_become_training_masks_in_every_bin(tmp_path):
    folder = standins.qdimd(tmp_path / "qd", n=8)
    source = QuickDrawMasks(folder)
    masks = [source.draw(np.random.default_rng((7, k)), (48, 40)) for k in range(60)]
    assert all(m.shape == (48, 40) and m.dtype == np.uint8 for m in masks)
    bins = [ratio_bin(hole_ratio(m)) for m in masks]
    assert None not in bins and len(set(bins)) >= 5  # the bins are drawn uniformly
    again = source.draw(np.random.default_rng((7, 3)), (48, 40))
    assert (again == masks[3]).all()
    # the training set reads them per item from its (seed, epoch, index) rng
    from gdn.engine.loader import build_train_set

    cfg = resolve("smoke", {"train_masks": f"qdimd:{folder}", "size": "32", "builtin_train": "4"})
    data = build_train_set(cfg)
    item = data[1]
    assert item["mask"].shape == (1, 32, 32) and 0.01 < item["mask"].mean() <= 0.6
    assert (data[1]["mask"] == item["mask"]).all()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no mask files"):
        QuickDrawMasks(tmp_path / "empty")
