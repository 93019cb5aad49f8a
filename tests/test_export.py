"""gdn.engine.export: ONNX models that match PyTorch, the onnx backend of Inpainter and gdn inpaint, clean failures."""
from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gdn import __version__
from gdn.engine.checkpoint import build_networks, load_checkpoint
from gdn.cli import main
from gdn.engine.export import ExportError, export_checkpoint, load_exported
from gdn.engine.inference import Inpainter


@pytest.fixture(scope="module")
def exported(ckpts, tmp_path_factory):
    """The tiny det checkpoint exported once: folder/generator.onnx and folder/detector.onnx."""
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'gdn[onnx]'")
    pytest.importorskip("onnxscript", reason="the onnx extra is not installed: pip install 'gdn[onnx]'")
    out = tmp_path_factory.mktemp("export") / "model"
    diffs = export_checkpoint(ckpts["det"], out)
    assert set(diffs) == {"generator.onnx", "detector.onnx"} and max(diffs.values()) <= 1e-4
    return out


def _images(h, w, c=3, seed=0):
    """A random uint8 photo and a rectangular hole in its middle third."""
    img = np.random.default_rng(seed).integers(0, 256, (h, w, c)).astype(np.uint8)
    hole = np.zeros((h, w), bool)
    hole[h // 3: 2 * h // 3, w // 4: 3 * w // 4] = True
    return img, hole


def _one_error_line(capfd, *needles):
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------------------------- numerics --

@pytest.mark.parametrize("b,h,w", [(1, 64, 64), (2, 48, 80), (1, 256, 192)])
def test_onnx_networks_match_pytorch_fp32(exported, ckpts, b, h, w):
    generator, detector = build_networks(load_checkpoint(ckpts["det"]))
    g_onnx, d_onnx, _ = load_exported(exported)
    gen = torch.Generator().manual_seed(h * w)
    image = torch.rand(b, 3, h, w, generator=gen)
    mask = (torch.rand(b, 1, h, w, generator=gen) > 0.6).float()
    with torch.inference_mode():
        pred, prob = generator(image, mask), detector(image)
    got_pred, got_prob = g_onnx(image, mask), d_onnx(image)
    assert got_pred.shape == (b, 3, h, w) and got_prob.shape == (b, 1, h, w)
    assert (got_pred - pred).abs().max() <= 1e-4
    assert (got_prob - prob).abs().max() <= 1e-4


def test_instance_norms_stay_exact_over_a_megapixel(exported):
    """onnxruntime's fused InstanceNormalization sums H*W values in one fp32 run (1.4e-4 off here); the
    export's staged means stay at PyTorch's precision, which the paper's generator needs at 512 px and up."""
    import onnxruntime as ort

    from gdn.engine.export import _for_export

    norm = torch.nn.InstanceNorm2d(4, affine=True)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2), norm.bias.uniform_(-1, 1)
    x = torch.randn(1, 4, 1024, 1024, generator=torch.Generator().manual_seed(0)) * 3 + 5  # mean >> spread
    program = torch.onnx.export(_for_export(torch.nn.Sequential(norm)), (x[..., :64, :64],), dynamo=True,
                                verbose=False, dynamic_shapes=({2: torch.export.Dim("h"), 3: torch.export.Dim("w")},))
    session = ort.InferenceSession(program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
    with torch.no_grad():
        exact = torch.nn.functional.instance_norm(x.double(), weight=norm.weight.double(), bias=norm.bias.double())
    assert (got - exact).abs().max() < 2e-5
    assert (norm(x) - exact).abs().max() < 2e-5  # the same bound holds PyTorch's own


def test_models_carry_names_dynamic_axes_and_metadata(exported, ckpts):
    import onnx

    ckpt = load_checkpoint(ckpts["det"])
    for name, inputs, output in [("generator", ["image", "mask"], "pred"), ("detector", ["image"], "prob")]:
        model = onnx.load(exported / f"{name}.onnx")
        assert [i.name for i in model.graph.input] == inputs and [o.name for o in model.graph.output] == [output]
        for value in [*model.graph.input, *model.graph.output]:
            dims = value.type.tensor_type.shape.dim
            assert [dims[0].dim_param, dims[2].dim_param, dims[3].dim_param] == ["batch", "height", "width"]
        meta = {p.key: p.value for p in model.metadata_props}
        assert meta["network"] == name and meta["framework"] == "det" and meta["size"] == "64"
        assert meta["step"] == str(ckpt["step"]) and meta["gdn_version"] == __version__
        assert json.loads(meta["config"]) == ckpt["config"].to_dict()
        assert "1 = hole" in meta["inputs"]


# ----------------------------------------------------------------------------------------- inference --

def test_onnx_inpainter_matches_the_pytorch_one(exported, ckpts):
    torch_inp = Inpainter.from_checkpoint(ckpts["det"], device="cpu", adapt=0)
    onnx_inp = Inpainter.from_checkpoint(exported, backend="onnx")  # the default: no adaptation without gradients
    assert onnx_inp.backend == "onnx" and onnx_inp.working_side == torch_inp.working_side
    assert onnx_inp.adaptation.steps == 0
    with pytest.raises(ValueError, match="onnx backend cannot adapt"):
        Inpainter.from_checkpoint(exported, backend="onnx", adapt=3)
    assert onnx_inp.config.framework == "det"
    img, hole = _images(180, 300)  # larger than the working scale: brought down, then the detail fill
    hole[5:12, 10:20] = True
    a, b = torch_inp.inpaint(img, hole), onnx_inp.inpaint(img, hole)
    assert onnx_inp.last_scale == torch_inp.last_scale and not onnx_inp.last_scale.native
    assert np.array_equal(b[~hole], img[~hole])
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # fp32 rounding at the 8-bit boundary only
    assert np.abs(torch_inp.artifact_map(b) - onnx_inp.artifact_map(b)).max() <= 1e-4


def test_inpaint_cli_with_the_onnx_backend_keeps_valid_pixels_bit_for_bit(exported, tmp_path, capfd):
    img, hole = _images(70, 90, c=4)  # RGBA: alpha comes back untouched too
    Image.fromarray(img).save(tmp_path / "img.png")
    Image.fromarray(hole.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    out, amap = tmp_path / "out.png", tmp_path / "map.png"
    assert main(["inpaint", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(out),
                 "--model", str(exported), "--backend", "onnx", "--artifact-map", str(amap)]) == 0
    stdout, err = capfd.readouterr()
    assert err == "" and "out.png" in stdout
    res = np.asarray(Image.open(out))
    assert res.shape == img.shape and np.array_equal(res[~hole], img[~hole])
    assert np.array_equal(res[..., 3], img[..., 3]) and (res[hole][:, :3] != img[hole][:, :3]).any(axis=1).mean() > 0.9
    assert np.asarray(Image.open(amap)).shape == (70, 90, 3)


def test_export_cli_for_a_weight_checkpoint_writes_only_the_generator(exported, ckpts, tmp_path, capfd):
    out = tmp_path / "weight"
    out.mkdir()
    (out / "detector.onnx").write_bytes(b"left by an earlier export")
    assert main(["export", "--checkpoint", str(ckpts["weight"]), "-o", str(out)]) == 0
    stdout, err = capfd.readouterr()
    assert "generator.onnx" in stdout and "detector" not in stdout
    assert sorted(os.listdir(out)) == ["generator.onnx"]  # the stale detector would not match this generator
    img, hole = _images(40, 40)
    inp = Inpainter.from_checkpoint(out, backend="onnx")
    assert inp.detector is None and inp.config.framework == "weight"
    assert np.array_equal(inp.inpaint(img, hole)[~hole], img[~hole])
    with pytest.raises(ValueError, match="artifact maps need a det checkpoint"):
        inp.artifact_map(img)


# ------------------------------------------------------------------------------------------- failures --

EXPORT_BAD = {  # case: the text the one error line must hold
    "missing checkpoint": "none.pt: checkpoint not found",
    "foreign checkpoint": "foreign.pt: not a gdn checkpoint",
    "junk checkpoint": "junk.pt: truncated or corrupt",
    "weight checkpoint asked for a detector": "weight.pt: a weight checkpoint has no pixel-wise detector",
    "output is a file": "taken: exists and is not a folder",
    "output under a file": "is a file",
}


@pytest.mark.parametrize("case", list(EXPORT_BAD))
def test_export_bad_input_gives_one_line_and_writes_nothing(ckpts, tmp_path, capfd, case):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    ckpt, out, extra = str(ckpts["det"]), tmp_path / "model", []
    if case == "missing checkpoint":
        ckpt = str(tmp_path / "none.pt")
    elif case == "foreign checkpoint":
        ckpt = str(tmp_path / "foreign.pt")
        torch.save({"state_dict": {"w": torch.zeros(2)}}, ckpt)
    elif case == "junk checkpoint":
        ckpt = str(tmp_path / "junk.pt")
        (tmp_path / "junk.pt").write_text("not a checkpoint")
    elif case == "weight checkpoint asked for a detector":
        ckpt, extra = str(ckpts["weight"]), ["--detector"]
    elif case == "output is a file":
        out = tmp_path / "taken"
        out.write_text("a file")
    elif case == "output under a file":
        (tmp_path / "file").write_text("a file")
        out = tmp_path / "file" / "model"
    before = sorted(os.listdir(tmp_path))
    assert main(["export", "--checkpoint", ckpt, "-o", str(out), *extra]) == 2
    assert _one_error_line(capfd, EXPORT_BAD[case]).startswith("gdn export: error: ")
    assert sorted(os.listdir(tmp_path)) == before  # no folder, no temporary files


def test_export_to_a_read_only_folder_fails_before_exporting(ckpts, tmp_path, capfd, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    real_access = os.access
    # root (as in CI) may write anywhere, so the permission check is made to answer as it would for a user
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    try:
        assert main(["export", "--checkpoint", str(ckpts["det"]), "-o", str(locked / "model")]) == 2
        _one_error_line(capfd, "locked", "permission denied")
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o755)


MODEL_BAD = {  # case: the text the one error line must hold
    "missing folder": "nowhere: no such folder",
    "folder without a generator": "empty: no generator.onnx",
    "a checkpoint as the model": "det.pt: is a file, not an export folder",
    "junk generator": "generator.onnx: not a readable ONNX model",
    "models of two checkpoints": "mixed: generator.onnx and detector.onnx come from different checkpoints",
    "onnx backend with a checkpoint": "--backend onnx runs an exported model",
    "fp16 with onnx": "the onnx backend runs fp32 only",
}


@pytest.mark.parametrize("case", list(MODEL_BAD))
def test_inpaint_with_a_bad_model_gives_one_line_and_writes_nothing(exported, ckpts, tmp_path, capfd, case):
    img, hole = _images(40, 40)
    Image.fromarray(img).save(tmp_path / "img.png")
    Image.fromarray(hole.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    source = ["--model", str(exported)]
    if case == "missing folder":
        source = ["--model", str(tmp_path / "nowhere")]
    elif case == "folder without a generator":
        (tmp_path / "empty").mkdir()
        source = ["--model", str(tmp_path / "empty")]
    elif case == "a checkpoint as the model":
        source = ["--model", str(ckpts["det"])]
    elif case == "junk generator":
        (tmp_path / "junk").mkdir()
        (tmp_path / "junk" / "generator.onnx").write_bytes(b"\x08\x07junk")
        source = ["--model", str(tmp_path / "junk")]
    elif case == "models of two checkpoints":
        import onnx

        (tmp_path / "mixed").mkdir()
        shutil.copy(exported / "generator.onnx", tmp_path / "mixed")
        detector = onnx.load(exported / "detector.onnx")
        next(p for p in detector.metadata_props if p.key == "step").value = "999"
        onnx.save(detector, tmp_path / "mixed" / "detector.onnx")
        source = ["--model", str(tmp_path / "mixed")]
    elif case == "onnx backend with a checkpoint":
        source = ["--checkpoint", str(ckpts["det"]), "--backend", "onnx"]
    elif case == "fp16 with onnx":
        source += ["--precision", "fp16"]
    before = sorted(os.listdir(tmp_path))
    assert main(["inpaint", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png"),
                 *source]) == 2
    _one_error_line(capfd, MODEL_BAD[case])
    assert sorted(os.listdir(tmp_path)) == before


def test_missing_onnx_packages_are_one_error_naming_the_extra(ckpts, tmp_path, capfd, monkeypatch):
    for module in ("onnx", "onnxscript", "onnxruntime"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    assert main(["export", "--checkpoint", str(ckpts["det"]), "-o", str(tmp_path / "model")]) == 2
    _one_error_line(capfd, "gdn[onnx]")
    assert os.listdir(tmp_path) == []
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "generator.onnx").write_bytes(b"")
    with pytest.raises(ExportError, match=r"optional extra 'onnx'.*pip install 'gdn\[onnx\]'"):
        Inpainter.from_checkpoint(tmp_path / "model", backend="onnx")
