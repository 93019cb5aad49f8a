"""gdn.data: image reading, the paper's resizing, folders with bad files, built-in photos, masked pairs."""
import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from gdn import data as D
from gdn.data import TEST_PHOTOS, TRAIN_PHOTOS, VAL_PHOTOS, BuiltinPhotos, ImageFolder, InpaintingDataset, to_square
from gdn.imageio import load_rgb8 as load_image
from gdn.masks import hole_ratio


def _noise(h=40, w=60, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---------------------------------------------------------------- load_image / to_square

def test_load_image_gray_rgba_16bit_palette_as_rgb_uint8(tmp_path):
    gray = np.arange(200, dtype=np.uint8).reshape(10, 20)
    Image.fromarray(gray).save(tmp_path / "g.png")
    x = load_image(tmp_path / "g.png")
    assert x.shape == (10, 20, 3) and x.dtype == np.uint8
    assert all(np.array_equal(x[:, :, c], gray) for c in range(3))

    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, 0, 3] = 255  # opaque red
    rgba[0, 1, 3] = 0  # fully transparent -> white
    rgba[0, 2, 3] = 128  # half -> halfway to white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png")
    assert x.shape == (4, 4, 3)
    assert x[0, 0].tolist() == [200, 0, 0]
    assert x[0, 1].tolist() == [255, 255, 255]
    assert abs(int(x[0, 2, 1]) - 127) <= 1 and abs(int(x[0, 2, 0]) - 227) <= 1

    sixteen = np.array([[0, 65535, 32896, 257]], np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "s.png")
    assert Image.open(tmp_path / "s.png").mode.startswith("I")
    x = load_image(tmp_path / "s.png")
    assert x.dtype == np.uint8 and x[0, :, 0].tolist() == [0, 255, 128, 1]

    Image.fromarray(_noise()).convert("P").save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").shape == (40, 60, 3)


def test_load_image_corrupt_or_missing_raises_value_error_naming_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(ValueError, match=r"bad.png: cannot read the image \("):
        load_image(tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"nope.jpg: no such file"):
        load_image(tmp_path / "nope.jpg")


def test_to_square_centre_crops_then_resizes():
    img = np.zeros((40, 100, 3), np.uint8)
    img[:, 30:70] = 255  # exactly the central square
    out = to_square(img, 20)
    assert out.shape == (20, 20, 3) and out.dtype == np.uint8
    assert out.min() == 255
    tall = to_square(_noise(90, 30), 30)
    assert np.array_equal(tall, _noise(90, 30)[30:60])


# ---------------------------------------------------------------- ImageFolder

def _folder_with_bad_files(tmp_path):
    for i in range(3):
        Image.fromarray(_noise(seed=i)).save(tmp_path / f"img{i}.png")
    (tmp_path / "garbage.png").write_bytes(np.random.default_rng(0).bytes(500))
    buf = io.BytesIO()
    Image.fromarray(_noise(200, 200, seed=9)).save(buf, format="PNG")
    (tmp_path / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return tmp_path


def test_image_folder_skips_unreadable_and_truncated_files_with_warnings(tmp_path):
    root = _folder_with_bad_files(tmp_path)
    with pytest.warns(UserWarning) as rec:
        ds = ImageFolder(root, 32)
    msgs = [str(w.message) for w in rec]
    assert sum("garbage.png" in m for m in msgs) == 1
    assert any("skipped 1 of 5 files" in m and "unreadable" in m for m in msgs)
    assert not any("truncated.png" in m for m in msgs)  # its header is fine
    assert [p.name for p in ds.skipped] == ["garbage.png"]
    assert [p.name for p in ds.files] == ["img0.png", "img1.png", "img2.png", "truncated.png"]

    t = ds.files.index(next(p for p in ds.files if p.name == "truncated.png"))
    with pytest.warns(UserWarning, match="truncated.png"):
        x = ds[t]
    # the next readable image (wrapping around) stands in for it
    assert torch.equal(x, ds[0])
    assert [p.name for p in ds.skipped] == ["garbage.png", "truncated.png"]
    items = [ds[i] for i in range(len(ds))]
    for x in items:
        assert x.shape == (3, 32, 32) and x.dtype == torch.float32
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    ref = torch.from_numpy(to_square(_noise(seed=1), 32)).permute(2, 0, 1).float() / 255
    assert torch.equal(items[1], ref)


def test_image_folder_from_list_file_with_relative_paths(tmp_path, monkeypatch):
    (tmp_path / "imgs").mkdir()
    Image.fromarray(_noise(seed=1)).save(tmp_path / "imgs" / "a.jpg")
    Image.fromarray(_noise(seed=2)).save(tmp_path / "b.png")
    (tmp_path / "lists").mkdir()
    lst = tmp_path / "lists" / "train.flist"
    lst.write_text("../imgs/a.jpg\n../b.png\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = ImageFolder(lst, 16)
    assert len(ds) == 2 and ds[1].shape == (3, 16, 16)
    assert len(ImageFolder([tmp_path / "b.png"], 16)) == 1


def test_image_folder_without_readable_images_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no image files"):
        ImageFolder(tmp_path, 16)
    (tmp_path / "x.png").write_bytes(b"nope")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no readable image"):
        ImageFolder(tmp_path, 16)


# ---------------------------------------------------------------- BuiltinPhotos

def test_the_three_builtin_sets_share_no_source_photo():
    sets = {"train": TRAIN_PHOTOS, "val": VAL_PHOTOS, "test": TEST_PHOTOS}
    for one, two in [("train", "val"), ("train", "test"), ("val", "test")]:
        assert not set(sets[one]) & set(sets[two]), (one, two)
    assert "cat" not in TRAIN_PHOTOS + VAL_PHOTOS  # the same photo as chelsea
    # compare pixels too, so an alias under another name cannot slip through
    pixels = {name: D.photo(name) for group in sets.values() for name in group}
    for one, two in [("train", "val"), ("train", "test"), ("val", "test")]:
        for a in sets[one]:
            img = pixels[a]
            assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
            assert not any(img.shape == pixels[b].shape and np.array_equal(img, pixels[b]) for b in sets[two]), a


def test_training_and_validation_never_read_a_test_photo(monkeypatch):
    from gdn.config import resolve
    from gdn.engine.loader import build_train_set, build_val_images
    from gdn.engine.train import _val_batch

    read = []
    real = D.photo
    monkeypatch.setattr(D, "photo", lambda name: read.append(name) or real(name))
    cfg = resolve("smoke", {"augment": "colour"})
    train = build_train_set(cfg)
    for i in range(len(train)):
        train[i]
    for i in range(len(build_val_images(cfg))):
        build_val_images(cfg)[i]
    _val_batch(cfg, torch.device("cpu"))
    assert read and not set(read) & set(TEST_PHOTOS)
    assert set(read) <= set(TRAIN_PHOTOS) | set(VAL_PHOTOS)


def test_every_seed_of_a_run_is_validated_and_tested_on_the_same_pairs():
    from gdn.config import resolve
    from gdn.engine.loader import build_train_set
    from gdn.engine.train import _val_batch

    cfgs = [resolve("smoke", {"seed": seed}) for seed in (10, 11)]
    one, two = (_val_batch(cfg, torch.device("cpu")) for cfg in cfgs)
    assert torch.equal(one["image"], two["image"]) and torch.equal(one["mask"], two["mask"])
    first, second = (build_train_set(cfg)[0]["image"] for cfg in cfgs)
    assert not torch.equal(first, second)  # the training data still moves with the seed
    from gdn.book.runs import test_images

    tests = [test_images(cfg, 3) for cfg in cfgs]  # and every seed is scored on the same test crops
    assert all(torch.equal(tests[0][i], tests[1][i]) for i in range(3))


def test_builtin_photos_items_are_reproducible_and_well_formed():
    ds = BuiltinPhotos("train", size=48, n=10, seed=3)
    assert len(ds) == 10
    a = [ds[i] for i in (0, 1, 7)]
    b = BuiltinPhotos("train", size=48, n=10, seed=3)
    assert torch.equal(a[2], b[7]) and torch.equal(a[0], b[0])  # any order, fresh instance
    assert not torch.equal(a[0], BuiltinPhotos("train", size=48, n=10, seed=4)[0])
    for x in a:
        assert x.shape == (3, 48, 48) and x.dtype == torch.float32
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0 and float(x.std()) > 0.01
    t = BuiltinPhotos("test", size=48, n=6)
    assert len({tuple(t[i].flatten()[:50].tolist()) for i in range(6)}) == 6
    with pytest.raises(IndexError):
        t[6]
    with pytest.raises(ValueError, match="split"):
        BuiltinPhotos("validation")


# ---------------------------------------------------------------- InpaintingDataset

class _Const(torch.utils.data.Dataset):
    def __init__(self, n=6, size=64):
        self.n, self.size = n, size

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.full((3, self.size, self.size), i / self.n)


def test_inpainting_dataset_random_masks_per_seed_epoch_index():
    ds = InpaintingDataset(_Const(), seed=1)
    item = ds[2]
    assert set(item) == {"image", "mask"}
    assert item["image"].shape == (3, 64, 64) and item["mask"].shape == (1, 64, 64)
    assert item["mask"].dtype == torch.float32
    assert set(item["mask"].unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(item["image"], torch.full((3, 64, 64), 2 / 6))
    for i in range(len(ds)):
        assert 0.01 < hole_ratio(ds[i]["mask"]) <= 0.6
    again = InpaintingDataset(_Const(), seed=1)
    assert torch.equal(again[2]["mask"], item["mask"])  # a resumed run sees the same mask
    assert not torch.equal(ds[3]["mask"], item["mask"])
    again.set_epoch(1)
    assert not torch.equal(again[2]["mask"], item["mask"])
    ds.set_epoch(1)
    assert torch.equal(ds[2]["mask"], again[2]["mask"])
    assert not torch.equal(InpaintingDataset(_Const(), seed=2)[2]["mask"], item["mask"])
    narrow = InpaintingDataset(_Const(), ratio_range=(0.2, 0.3))
    assert all(0.2 < hole_ratio(narrow[i]["mask"]) <= 0.3 for i in range(3))


def test_inpainting_dataset_fixed_masks_pair_by_index_and_resize():
    m0 = np.zeros((64, 64), np.uint8)
    m0[:32] = 1
    m1 = np.zeros((32, 32), np.uint8)  # other size: resized and re-binarised
    m1[:, :8] = 1
    ds = InpaintingDataset(_Const(n=5), [m0, m1])
    assert torch.equal(ds[0]["mask"][0], torch.from_numpy(m0).float())
    assert torch.equal(ds[2]["mask"], ds[0]["mask"])  # index % len(masks)
    r = ds[3]["mask"]
    assert r.shape == (1, 64, 64) and set(r.unique().tolist()) == {0.0, 1.0}
    assert float(r[0, :, :16].mean()) == 1.0 and float(r[0, :, 16:].sum()) == 0.0
    with pytest.raises(ValueError, match="re-binarise"):
        InpaintingDataset(_Const(), [np.full((64, 64), 0.5)])[0]


def test_inpainting_dataset_over_builtin_photos_batches():
    ds = InpaintingDataset(BuiltinPhotos("test", size=32, n=4))
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 32, 32) and batch["mask"].shape == (4, 1, 32, 32)


def test_external_training_masks_are_drawn_per_epoch_and_index():
    from gdn.data import InpaintingDataset

    images = [torch.zeros(3, 8, 8) for _ in range(4)]
    masks = [np.pad(np.ones((k + 1, 8), np.uint8), ((0, 7 - k), (0, 0))) for k in range(6)]
    ds = InpaintingDataset(images, masks, seed=3, shuffle_masks=True)
    first = [int(ds[i]["mask"].sum()) for i in range(4)]
    assert first == [int(ds[i]["mask"].sum()) for i in range(4)]  # reproducible
    seen = set(first)
    for epoch in range(1, 6):
        ds.set_epoch(epoch)
        seen |= {int(ds[i]["mask"].sum()) for i in range(4)}
    assert len(seen) > 4  # not the fixed i % len pairing


def test_colour_augmentation_is_reproducible_and_has_no_colour_preference():
    from gdn.data import colour_jitter

    g = torch.Generator().manual_seed(0)
    image = torch.rand(3, 8, 8, generator=g)
    a = colour_jitter(image, np.random.default_rng(5))
    assert torch.equal(a, colour_jitter(image, np.random.default_rng(5)))  # a function of the rng
    assert a.min() >= 0 and a.max() <= 1
    gray = torch.full((3, 4, 4), 0.3)
    for seed in range(10):  # gray stays gray (or its inverse)
        out = colour_jitter(gray, np.random.default_rng(seed))
        assert torch.allclose(out, gray, atol=1e-5) or torch.allclose(out, 1 - gray, atol=1e-5)
    red = torch.zeros(3, 4, 4)
    red[0] = 0.8
    red[1:] = 0.2
    means = torch.stack([colour_jitter(red, np.random.default_rng(k)).mean(dim=(1, 2)) for k in range(400)])
    assert means.mean(0).sub(0.5).abs().max() < 0.04  # over many draws: no channel, no brightness preferred
    assert means.std(0).min() > 0.15  # while each draw changes the colours a lot


def test_dataset_augments_only_when_asked():
    from gdn.data import InpaintingDataset

    images = [torch.rand(3, 32, 32) for _ in range(2)]
    plain = InpaintingDataset(images, seed=3)
    assert torch.equal(plain[0]["image"], images[0])
    aug = InpaintingDataset(images, seed=3, augment="colour")
    assert not torch.equal(aug[0]["image"], images[0]) and torch.equal(aug[0]["mask"], plain[0]["mask"])
    with pytest.raises(ValueError, match="unknown augment"):
        InpaintingDataset(images, augment="hue")


def test_grace_hopper_is_a_builtin_training_photo():
    from gdn.data import TRAIN_PHOTOS, BuiltinPhotos

    assert "grace_hopper" in TRAIN_PHOTOS
    k = TRAIN_PHOTOS.index("grace_hopper")
    item = BuiltinPhotos("train", size=32, n=len(TRAIN_PHOTOS))[k]
    assert item.shape == (3, 32, 32) and (item[0] - item[2]).abs().mean() > 0.01  # a colour photo
