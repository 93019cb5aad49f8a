"""gdn.engine.inference: exact compositing, any size/layout/bit depth, the working scale of large photos, the CLI's error paths."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gdn.cli.inpaint import main as main_inpaint
from gdn.engine.adapt import Adaptation
from gdn.engine.inference import Inpainter, artifact_colormap, overlay
from gdn.imageio import InputError, read_image, read_mask
from gdn.networks import Detector, Generator

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inp(ckpts):
    return Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=0)  # adaptation: its own tests below


def _photo(h, w, c=3, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = 255 if dtype == np.uint8 else 65535
    shape = (h, w) if c == 1 else (h, w, c)
    return rng.integers(0, top + 1, shape).astype(dtype)


def _rect(h, w, *boxes):
    m = np.zeros((h, w), bool)
    for y0, y1, x0, x1 in boxes:
        m[y0:y1, x0:x1] = True
    return m


def _changed(out, img, m):
    """Fraction of hole pixels whose value changed (hole content is a sentinel the network never sees)."""
    diff = out[m] != img[m]
    return diff.any(axis=-1).mean() if diff.ndim > 1 else diff.mean()


# ---------------------------------------------------------------------------------------------- API --

def test_valid_pixels_kept_bit_for_bit_and_holes_filled(inp):
    img = _photo(70, 90)
    m = _rect(70, 90, (20, 45, 30, 60))
    img[m] = (255, 0, 255)  # sentinel: hole pixels never reach the generator
    out = inp.inpaint(img, m)
    assert out.shape == (70, 90, 3) and out.dtype == np.uint8
    assert np.array_equal(out[~m], img[~m])
    assert _changed(out, img, m) > 0.9


def test_compiled_inpainter_gives_the_eager_result(ckpts, inp):
    fast = Inpainter.from_checkpoint(ckpts["det"], device="cpu", compile=True, adapt=0)
    img, m = _photo(40, 48, seed=3), _rect(40, 48, (8, 30, 10, 36))
    out, want = fast.inpaint(img, m), inp.inpaint(img, m)
    assert np.array_equal(out[~m], img[~m])
    assert np.abs(out.astype(int) - want.astype(int)).max() <= 1  # the compiler's rounding, at most one level
    assert np.allclose(fast.artifact_map(out), inp.artifact_map(out), atol=1e-5)
    assert isinstance(fast.generator, Generator)  # the real network stays reachable (state_dict, export)


@pytest.mark.parametrize("hw", [(37, 53), (301, 517), (5, 3)])
def test_odd_sizes(inp, hw):
    h, w = hw
    img = _photo(h, w, seed=h)
    m = _rect(h, w, (h // 3, h // 2 + 1, w // 4, w // 2 + 1), (h - 3, h, 0, 2))
    out = inp.inpaint(img, m)
    assert out.shape == (h, w, 3)
    assert np.array_equal(out[~m], img[~m])


def test_bf16_autocast_keeps_valid_pixels(ckpts):
    inp = Inpainter.from_checkpoint(ckpts["weight"], device="cpu", precision="bf16", adapt=2)
    img, m = _photo(30, 34), _rect(30, 34, (5, 20, 5, 20))
    out = inp.inpaint(img, m)
    assert np.array_equal(out[~m], img[~m]) and _changed(out, img, m) > 0.9


def test_gray_array(inp):
    img = _photo(40, 60, c=1)
    m = _rect(40, 60, (10, 25, 10, 30))
    rgb = inp.inpaint(img, m)
    assert rgb.shape == (40, 60, 3) and np.array_equal(rgb[~m], np.repeat(img[~m][:, None], 3, axis=1))
    same = inp.inpaint_like(img, m)
    assert same.shape == (40, 60) and same.dtype == np.uint8
    assert np.array_equal(same[~m], img[~m]) and _changed(same, img, m) > 0.5


def test_rgba_alpha_untouched(inp):
    img = _photo(48, 56, c=4)
    m = _rect(48, 56, (5, 30, 20, 50))
    out = inp.inpaint_like(img, m)
    assert out.shape == img.shape and np.array_equal(out[..., 3], img[..., 3])
    assert np.array_equal(out[~m], img[~m]) and _changed(out[..., :3], img[..., :3], m) > 0.9
    assert inp.inpaint(img, m).shape == (48, 56, 3)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_deep_and_float_inputs_keep_their_dtype(inp, dtype):
    img = _photo(36, 44, dtype=np.uint16)
    if dtype != np.uint16:
        img = (img / 65535.0).astype(dtype)
    m = _rect(36, 44, (8, 20, 8, 30))
    out = inp.inpaint_like(img, m)
    assert out.dtype == img.dtype and out.shape == img.shape
    assert np.array_equal(out[~m], img[~m]) and _changed(out, img, m) > 0.9
    eight = inp.inpaint(img, m)
    ref = np.rint(img.astype(np.float64) / (65535.0 if dtype == np.uint16 else 1.0) * 255).astype(np.uint8)
    assert np.array_equal(eight[~m], ref[~m])


def test_pil_and_path_inputs_give_the_array_result(inp, tmp_path):
    img = _photo(40, 52)
    m = _rect(40, 52, (10, 30, 5, 25))
    ref = inp.inpaint(img, m)
    Image.fromarray(img).save(tmp_path / "i.png")
    Image.fromarray(m.astype(np.uint8) * 255).save(tmp_path / "m.png")
    assert np.array_equal(inp.inpaint(tmp_path / "i.png", str(tmp_path / "m.png")), ref)
    pil = inp.inpaint_like(Image.fromarray(img), Image.fromarray(m.astype(np.uint8) * 255))
    assert isinstance(pil, Image.Image) and pil.mode == "RGB" and np.array_equal(np.asarray(pil), ref)


def test_mask_conventions():
    m = _rect(20, 24, (4, 12, 6, 18))
    u8 = m.astype(np.uint8)
    assert np.array_equal(read_mask(u8), m)  # {0,1} integers: 1 = hole
    assert np.array_equal(read_mask(u8 * 255), m)  # white = hole
    assert np.array_equal(read_mask(np.where(m, 0.7, 0.3)), m)  # floats re-binarised at 0.5
    assert np.array_equal(read_mask(np.where(m, 128, 127).astype(np.uint8)), m)  # 8-bit threshold 128
    assert np.array_equal(read_mask(np.repeat((u8 * 255)[..., None], 3, axis=2)), m)  # RGB masks
    assert np.array_equal(read_mask((1 - u8) * 255, invert=True), m)
    assert np.array_equal(read_mask(torch.from_numpy(m.astype(np.float32))[None, None]), m)
    with pytest.raises(InputError, match=r"\[0,1\]"):
        read_mask(np.where(m, 255.0, 0.0))


def test_empty_mask_is_a_no_op_and_bad_masks_raise(inp):
    img = _photo(30, 40)
    assert np.array_equal(inp.inpaint(img, np.zeros((30, 40), bool)), img)
    with pytest.raises(InputError, match="every pixel is a hole"):
        inp.inpaint(img, np.ones((30, 40), bool))
    with pytest.raises(InputError, match="mask is 40x20 but image is 40x30"):
        inp.inpaint(img, np.zeros((20, 40), bool))


def test_exif_orientation_is_applied(tmp_path):
    img = _photo(20, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers rotate it 90 degrees clockwise
    Image.fromarray(img).save(tmp_path / "r.png", exif=exif)
    assert np.array_equal(read_image(tmp_path / "r.png").data, np.rot90(img, -1))


class _Recorder(torch.nn.Module):
    """Wraps a generator and records the spatial shape of every batch it receives."""

    def __init__(self, generator):
        super().__init__()
        self.generator, self.shapes = generator, []

    def forward(self, image, mask):
        self.shapes.append(tuple(image.shape))
        return self.generator(image, mask)


def test_large_photo_goes_through_the_generator_at_its_working_scale():
    rec = _Recorder(Generator(8, 1))
    inp = Inpainter(rec, working_side=96)
    h, w = 900, 1200
    img = _photo(h, w)
    m = _rect(h, w, (40, 70, 50, 90), (800, 830, 1100, 1150))  # two small holes far apart
    img[m] = 0
    out = inp.inpaint(img, m)
    assert np.array_equal(out[~m], img[~m]) and _changed(out, img, m) > 0.9
    assert rec.shapes == [(1, 3, 96, 128)]  # once, the whole photo brought to a 96 px shorter side (aspect kept)
    assert inp.last_scale.work == (96, 128) and inp.last_scale.factor == pytest.approx(900 / 96)
    small = _photo(90, 300)  # shorter side within the working side: native, never upscaled
    hole = _rect(90, 300, (10, 30, 20, 50))
    inp.inpaint(small, hole)
    assert inp.last_scale.native and rec.shapes[-1] == (1, 3, 92, 300)  # padded to a multiple of 4 only


def test_working_shape_and_detail_fill():
    from gdn.engine.scales import detail_fill, hole_groups, working_shape

    assert working_shape(64, 64, 96) == (64, 64) and working_shape(427, 640, 96) == (96, 144)
    assert working_shape(3000, 40, 96) == (3000, 40)
    hole = _rect(200, 300, (20, 40, 20, 40), (20, 40, 46, 60), (150, 170, 250, 270))  # 6 px apart, and one far
    boxes, labels = hole_groups(hole, margin=8)
    assert len(boxes) == 2 and set(np.unique(labels[hole])) == {1, 2}
    assert boxes[0] == (slice(12, 48), slice(12, 68))  # the near pair's box, grown by the margin
    # a residual that is a linear ramp comes back exactly (harmonic), and nothing changes off the hole
    yy, xx = np.mgrid[0:200, 0:300]
    ramp = torch.from_numpy(np.stack([yy / 200, xx / 300, (yy + xx) / 500]).astype(np.float32))[None]
    fill = detail_fill(ramp, hole)
    assert torch.all(fill[:, :, ~torch.from_numpy(hole)] == 0)
    assert (fill - ramp)[:, :, torch.from_numpy(hole)].abs().max() < 1 / 255  # within one 8-bit level


def test_generator_at_working_scale_keeps_its_gain_over_the_full_resolution_detail():
    """A generator that returns the true photo (an oracle) at the working scale: the result upsampled plus the
    detail fill is far closer to the photo than the detail fill alone of the photo (the harmonic fill)."""
    from gdn.baselines import harmonic

    H, W = 240, 320
    yy, xx = np.mgrid[0:H, 0:W]
    truth = np.stack([0.5 + 0.4 * np.sin(xx / 25.0), 0.5 + 0.4 * np.cos(yy / 30.0),
                      0.4 + 0.3 * np.sin((xx + yy) / 40.0)], -1).astype(np.float32)  # (H,W,3) smooth shading
    hole = _rect(H, W, (60, 180, 100, 220))

    class Oracle(torch.nn.Module):
        def forward(self, image, mask):  # the truth at whatever size it is asked for
            t = torch.from_numpy(truth).permute(2, 0, 1)[None]
            return torch.nn.functional.interpolate(t, size=image.shape[-2:], mode="bilinear", antialias=True)

    out = Inpainter(Oracle(), working_side=96).inpaint((truth * 255).round().astype(np.uint8), hole) / 255.0
    x, m = torch.from_numpy(truth).permute(2, 0, 1)[None], torch.from_numpy(hole).float()[None, None]
    base = harmonic(x, m)[0].permute(1, 2, 0).numpy()
    err = np.abs(out - truth)[hole].mean()
    assert err < 0.02 and err < 0.2 * np.abs(base - truth)[hole].mean()


def test_an_untrained_residual_generator_returns_the_full_resolution_anchor():
    """A photo larger than the working side: the generator's departure from its anchor at the working scale is
    added onto the same anchor computed on the full-resolution photo, so a network that learned nothing (a new
    residual generator outputs its anchor) returns exactly the full-resolution spline."""
    from gdn.anchored import SplineResidualGenerator
    from gdn.baselines import spline
    from gdn.imageio import quantise, to_rgb01

    H, W = 150, 230
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.stack([128 + 90 * np.sin(xx / 9.0), 128 + 90 * np.cos(yy / 13.0), (xx + yy) % 256], -1).astype(np.uint8)
    m = _rect(H, W, (30, 70, 40, 120), (100, 140, 150, 220))
    inp = Inpainter(SplineResidualGenerator(8, 1, "none"), working_side=48, adapt=0)
    out = inp.inpaint(img, m)
    assert not inp.last_scale.native and inp.last_scale.work == (48, 74)
    x = torch.from_numpy(to_rgb01(read_image(img))).permute(2, 0, 1)[None]
    want = spline(x, torch.from_numpy(m).float()[None, None])[0].permute(1, 2, 0).numpy()
    assert np.array_equal(out, np.where(m[..., None], quantise(want, np.uint8, 255), img))


def test_adaptation_is_seeded_and_never_changes_the_checkpoint(ckpts, tmp_path):
    """Per-photo learning trains copies: the same photo, mask and steps give the same fill, the networks (and
    the checkpoint file) are unchanged, valid pixels come back bit for bit, progress is reported per step."""
    import hashlib

    digest = hashlib.sha256(ckpts["det"].read_bytes()).hexdigest()
    seen = []
    inp = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=3, progress=lambda s, t: seen.append((s, t)))
    before = {k: v.clone() for k, v in inp.generator.state_dict().items()}
    critic = {k: v.clone() for k, v in inp.critic.state_dict().items()}
    img, m = _photo(60, 72, seed=5), _rect(60, 72, (10, 40, 20, 50))
    threads = torch.get_num_threads()
    a, b = inp.inpaint(img, m), inp.inpaint(img, m)
    assert np.array_equal(a, b) and np.array_equal(a[~m], img[~m])
    assert torch.get_num_threads() == threads  # it adapts on one thread and gives the others back
    assert seen == [(1, 3), (2, 3), (3, 3)] * 2
    assert all(torch.equal(before[k], v) for k, v in inp.generator.state_dict().items())
    assert all(torch.equal(critic[k], v) for k, v in inp.critic.state_dict().items())
    assert hashlib.sha256(ckpts["det"].read_bytes()).hexdigest() == digest
    plain = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=0).inpaint(img, m)
    assert not np.array_equal(a, plain)  # three steps changed the fill
    own = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=Adaptation(steps=2, framework="own"))
    assert not np.array_equal(own.inpaint(img, m), plain)  # Det's own losses, its detector adapting alongside
    assert all(torch.equal(critic[k], v) for k, v in own.critic.state_dict().items())


def test_adaptation_decoder_only_and_flips(ckpts):
    """``layers="decoder"``: only the generator's decoder learns on the photo; ``flips``: the adapted fill is the
    mean of the fills of the photo's four flips, each flipped back."""
    from gdn.engine.adapt import adapt
    from gdn.engine.checkpoint import build_networks, load_checkpoint

    ckpt = load_checkpoint(ckpts["det"])
    cfg = ckpt["config"]
    gen, critic = build_networks(ckpt, ckpts["det"])
    torch.manual_seed(0)
    torch.nn.init.normal_(gen.decoder[-1].weight, std=0.05)  # a generator that departs from its anchor
    img = torch.rand(1, 3, 48, 56)
    hole = torch.zeros(1, 1, 48, 56)
    hole[..., 10:30, 20:40] = 1
    new, _ = adapt(gen, critic, cfg, img, hole, Adaptation(steps=2, lr=1e-2, layers="decoder"))
    before, after = dict(gen.named_parameters()), dict(new.named_parameters())
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    assert changed and all(n.startswith("decoder.") for n in changed)
    everything, _ = adapt(gen, critic, cfg, img, hole, Adaptation(steps=2, lr=1e-2))
    assert not torch.equal(dict(everything.named_parameters())["encoder.1.weight"], before["encoder.1.weight"])
    with pytest.raises(ValueError, match="layers"):
        Adaptation(layers="encoder")
    # a learning rate too small to move anything: the flipped fill is the mean of the plain fills of the flips
    rng = np.random.default_rng(3)
    x = rng.random((40, 44, 3)).astype(np.float32)  # float in, float out: no rounding between the two
    m = _rect(40, 44, (8, 30, 10, 26))
    flipped = Inpainter(gen, working_side=64, config=cfg, adapt=Adaptation(steps=1, lr=1e-12, flips=True))
    plain = Inpainter(gen, working_side=64, config=cfg, adapt=0)
    views = [(slice(None), slice(None)), (slice(None), slice(None, None, -1)), (slice(None, None, -1), slice(None)),
             (slice(None, None, -1), slice(None, None, -1))]
    want = np.mean([plain.inpaint_like(np.ascontiguousarray(x[v]), np.ascontiguousarray(m[v]))[v] for v in views], 0)
    got = flipped.inpaint_like(x, m)
    assert np.allclose(got, want, atol=1e-5) and np.array_equal(got[~m], x[~m])
    assert not np.allclose(plain.inpaint_like(x, m), want, atol=1e-3)  # the flips do change this fill


def test_adaptation_defaults_and_refusals(ckpts):
    from gdn.engine.adapt import DEFAULT_STEPS

    # None: the project's default steps (chosen on the validation photos), N: N steps of the recipe
    assert Inpainter.from_checkpoint(ckpts["det"], device="cpu").adaptation == Adaptation(steps=DEFAULT_STEPS)
    assert Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=7).adaptation == Adaptation(steps=7)
    assert Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=0).adaptation.steps == 0
    assert Inpainter(Generator(8, 1), working_side=64).adaptation.steps == 0  # no config: nothing to adapt with
    with pytest.raises(ValueError, match="training config"):
        Inpainter(Generator(8, 1), working_side=64, adapt=5)
    with pytest.raises(InputError, match="whole number"):
        Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=2.5)
    with pytest.raises(ValueError, match=">= 0"):
        Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=-1)
    # an adapted generator learns and fills the photo at the working scale: its cost does not grow with the photo
    adapted = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=1)
    plain = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=0)
    assert adapted.scale((1200, 1600)) == plain.scale((1200, 1600)) and not plain.scale((1200, 1600)).native

@pytest.mark.parametrize("hw", [(37, 53), (5, 3)])
def test_artifact_map_shape_and_range(inp, hw):
    v = inp.artifact_map(_photo(*hw))
    assert v.shape == hw and v.dtype == np.float32 and 0 <= v.min() and v.max() <= 1


def test_artifact_map_tiles_match_a_whole_pass():
    torch.manual_seed(0)
    det = Detector()
    inp = Inpainter(Generator(8, 1), det, working_side=1024)
    inp.detector_tile, inp.detector_whole_pixels = 64, 0  # force 3 x 3 tiles of 64 px (+ 32 px halo)
    img = _photo(136, 168)
    v = inp.artifact_map(img)
    with torch.no_grad():
        ref = det(torch.from_numpy(img / 255.0).float().permute(2, 0, 1)[None])[0, 0].numpy()
    b = 40  # away from the border, where tiles see real context instead of zero padding
    np.testing.assert_allclose(v[b:-b, b:-b], ref[b:-b, b:-b], atol=1e-5)


def test_the_detector_scale_sets_the_side_the_detector_sees_a_large_photo_at():
    import torch.nn.functional as F

    torch.manual_seed(0)
    det = Detector()
    inp = Inpainter(Generator(8, 1), det, working_side=32)
    img = _photo(128, 160)
    x = torch.from_numpy(img / 255.0).float().permute(2, 0, 1)[None]

    def seen_at(shape):  # the map of the photo brought to `shape`, upsampled back
        with torch.no_grad():
            small = F.interpolate(x, size=shape, mode="bilinear", antialias=True, align_corners=False)
            v = F.interpolate(det(small), size=(128, 160), mode="bilinear", align_corners=False)
        return v[0, 0].clamp(0, 1).numpy()

    np.testing.assert_allclose(inp.artifact_map(img), seen_at((64, 80)), atol=1e-5)  # the default: twice the working side
    inp.detector_scale = 1
    np.testing.assert_allclose(inp.artifact_map(img), seen_at((32, 40)), atol=1e-5)
    inp.detector_scale = 8  # never above the photo's own size
    with torch.no_grad():
        np.testing.assert_allclose(inp.artifact_map(img), det(x)[0, 0].numpy(), atol=1e-5)
    inp.detector_scale = 0
    with pytest.raises(InputError, match="positive factor"):
        inp.artifact_map(img)


@pytest.mark.parametrize("fw", ["weight", "adv"])
def test_artifact_map_needs_a_det_checkpoint(ckpts, fw):
    inp = Inpainter.from_checkpoint(ckpts[fw], device="cpu")
    assert inp.detector is None  # the Adv discriminator scores whole images, not pixels
    with pytest.raises(InputError, match="det checkpoint"):
        inp.artifact_map(_photo(32, 32))


def test_colormap_and_overlay():
    v = np.array([[0.0, 1.0]], np.float32)
    c = artifact_colormap(v)
    assert c.shape == (1, 2, 3) and c.dtype == np.uint8
    assert c[0, 0, 2] > c[0, 0, 0] and c[0, 1, 0] > c[0, 1, 2]  # blue = clean, red = artifact
    assert overlay(_photo(1, 2), v).shape == (1, 2, 3)


# ---------------------------------------------------------------------------------------------- CLI --

def _save(path, a):
    import cv2
    if a.dtype == np.uint16 and a.ndim == 3:
        cv2.imwrite(str(path), a[..., [2, 1, 0, 3][: a.shape[2]]])
    else:
        Image.fromarray(a).save(path)
    return str(path)


def _load(path):
    import cv2
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return a[..., [2, 1, 0, 3][: a.shape[2]]] if a.ndim == 3 else a


def test_cli_writes_output_and_artifact_map(ckpts, tmp_path, capfd):
    img = _photo(60, 90)
    m = _rect(60, 90, (10, 40, 20, 70))
    args = [_save(tmp_path / "img.png", img), _save(tmp_path / "mask.png", m.astype(np.uint8) * 255),
            "-o", str(tmp_path / "out.png"), "--checkpoint", str(ckpts["det"]),
            "--artifact-map", str(tmp_path / "map.png"), "--device", "cpu", "--adapt", "2"]
    assert main_inpaint(args) == 0
    out, err = capfd.readouterr()
    assert err == "" and "out.png" in out and "adapted to the photo in 2 steps" in out
    res = _load(tmp_path / "out.png")
    assert res.shape == img.shape and np.array_equal(res[~m], img[~m]) and _changed(res, img, m) > 0.9
    assert _load(tmp_path / "map.png").shape == (60, 90, 3)
    assert main_inpaint(args + ["--artifact-scale", "0"]) == 2
    assert "--artifact-scale 0.0: the factor must be positive" in capfd.readouterr().err


def test_cli_without_a_model_flag_uses_the_books_det_model_else_the_bundled_one(ckpts, tmp_path, capfd,
                                                                               monkeypatch):
    import shutil

    from gdn.demo import launch

    monkeypatch.setattr(launch, "_search_roots", lambda: [tmp_path])  # not this checkout's own runs/
    monkeypatch.delenv(launch.ENV_CHECKPOINT, raising=False)
    img = _photo(60, 90)
    m = _rect(60, 90, (10, 40, 20, 70))
    args = [_save(tmp_path / "img.png", img), _save(tmp_path / "mask.png", m.astype(np.uint8) * 255),
            "-o", str(tmp_path / "out.png"), "--device", "cpu", "--adapt", "0"]
    assert main_inpaint(args) == 0  # a fresh clone: the generator shipped with the package
    out, err = capfd.readouterr()
    assert err == "" and "bundled warm-start generator" in out
    res = _load(tmp_path / "out.png")
    assert np.array_equal(res[~m], img[~m]) and _changed(res, img, m) > 0.9
    assert main_inpaint(args + ["--artifact-map", str(tmp_path / "map.png")]) == 2  # it has no detector
    assert "no pixel-wise detector" in capfd.readouterr().err and not (tmp_path / "map.png").exists()
    book = tmp_path / "runs" / "cpu" / "det" / "last.pt"  # after make book
    book.parent.mkdir(parents=True)
    shutil.copy(ckpts["det"], book)
    assert main_inpaint(args + ["--artifact-map", str(tmp_path / "map.png")]) == 0
    assert str(book) in capfd.readouterr().out and (tmp_path / "map.png").is_file()


@pytest.mark.parametrize("kind", ["gray8", "rgba8", "gray16", "rgb16", "rgba16"])
def test_cli_keeps_the_input_mode(ckpts, tmp_path, kind):
    c = {"gray": 1, "rgb": 3, "rgba": 4}[kind.rstrip("0123456789")]
    dtype = np.uint16 if kind.endswith("16") else np.uint8
    img = _photo(33, 47, c=c, dtype=dtype)
    m = _rect(33, 47, (5, 20, 10, 30))
    args = [_save(tmp_path / "img.png", img), _save(tmp_path / "mask.png", m.astype(np.uint8) * 255),
            "-o", str(tmp_path / "out.png"), "--checkpoint", str(ckpts["weight"]), "--adapt", "1"]
    assert main_inpaint(args) == 0
    res = _load(tmp_path / "out.png")
    assert res.dtype == img.dtype and res.shape == img.shape
    assert np.array_equal(res[~m], img[~m]) and _changed(res, img, m) > 0.5
    if c == 4:
        assert np.array_equal(res[..., 3], img[..., 3])


BAD = {  # case: (what to break, the file the message must name)
    **{case: ("mask", "mask.png") for case in ("size mismatch", "empty mask", "all-hole mask", "junk mask")},
    **{case: ("image", "img.png") for case in ("junk image", "truncated image")},
    "missing image": ("image", "nope.png"),
    "missing checkpoint": ("ckpt", "none.pt"), "truncated checkpoint": ("ckpt", "trunc.pt"),
    "wrong architecture": ("ckpt", "wrong.pt"), "artifact map without detector": ("ckpt", "weight.pt"),
    "output folder missing": ("out", "out.png"), "unsupported output format": ("out", "out.xyz"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_cli_bad_input_fails_cleanly(ckpts, tmp_path, capfd, case):
    img = _photo(80, 120)
    m = _rect(80, 120, (10, 40, 20, 70)).astype(np.uint8) * 255
    image, mask = _save(tmp_path / "img.png", img), _save(tmp_path / "mask.png", m)
    ckpt, out, amap = str(ckpts["det"]), tmp_path / "out.png", tmp_path / "map.png"
    amap.write_bytes(b"previous map")  # an existing file that must survive
    if case == "size mismatch":
        _save(mask, m[:, :100])
    elif case == "empty mask":
        _save(mask, np.zeros_like(m))
    elif case == "all-hole mask":
        _save(mask, np.full_like(m, 255))
    elif case == "junk image":
        Path(image).write_bytes(b"not an image at all")
    elif case == "truncated image":
        data = Path(image).read_bytes()
        Path(image).write_bytes(data[: len(data) // 2])
    elif case == "junk mask":
        Path(mask).write_bytes(b"\x89PNG garbage")
    elif case == "missing image":
        image = str(tmp_path / "nope.png")
    elif case == "missing checkpoint":
        ckpt = str(tmp_path / "none.pt")
    elif case in ("truncated checkpoint", "wrong architecture"):
        ckpt = str(ckpts["trunc" if case.startswith("trunc") else "wrong"])
    elif case == "output folder missing":
        out = tmp_path / "missing" / "out.png"
    elif case == "unsupported output format":
        out = tmp_path / "out.xyz"
    elif case == "artifact map without detector":
        ckpt = str(ckpts["weight"])
    before = sorted(os.listdir(tmp_path))
    rc = main_inpaint([image, mask, "-o", str(out), "--checkpoint", ckpt, "--artifact-map", str(amap),
                       "--device", "cpu"])
    stdout, err = capfd.readouterr()
    assert rc == 2 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and BAD[case][1] in lines[0], err
    assert not out.exists() and amap.read_bytes() == b"previous map"
    assert sorted(os.listdir(tmp_path)) == before  # no partial or temporary files


def test_cli_failure_leaves_an_existing_output_untouched(ckpts, tmp_path, capfd):
    img = _photo(40, 40)
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    rc = main_inpaint([_save(tmp_path / "img.png", img), _save(tmp_path / "mask.png", np.zeros((40, 40), np.uint8)),
                       "-o", str(out), "--checkpoint", str(ckpts["det"])])
    assert rc == 2 and "no hole" in capfd.readouterr().err
    assert out.read_bytes() == b"keep me"


def test_cli_as_a_subprocess(ckpts, tmp_path):
    img = _photo(50, 70)
    m = _rect(50, 70, (10, 30, 10, 40))
    cmd = [sys.executable, "-m", "gdn.cli", "inpaint", _save(tmp_path / "img.jpg", img),
           _save(tmp_path / "mask.png", m.astype(np.uint8) * 255), "-o", str(tmp_path / "out.png"),
           "--checkpoint", str(ckpts["det"]), "--artifact-map", str(tmp_path / "map.png"), "--device", "cpu"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert "adapted" not in res.stdout  # the default steps are 0: it did not win on the validation photos
    assert (tmp_path / "out.png").is_file() and (tmp_path / "map.png").is_file()
