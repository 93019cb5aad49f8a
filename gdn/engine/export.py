"""ONNX export of trained networks, and onnxruntime behind the PyTorch call signature.

    gdn export --checkpoint runs/det/last.pt -o model/     # model/generator.onnx (+ model/detector.onnx)
    inp = Inpainter.from_checkpoint("model/", backend="onnx")

- ``generator.onnx``: inputs ``image`` (B,3,H,W) float32 in [0,1] and ``mask`` (B,1,H,W) float32, 1 = hole;
  output ``pred`` (B,3,H,W), the raw prediction. The corrupted input (holes filled white) is built inside
  the graph, as in ``Generator.forward``; composite ``mask * pred + (1 - mask) * image`` yourself.
- ``detector.onnx`` (det checkpoints only): input ``image`` -> ``prob`` (B,1,H,W), the artifact probability V.
- B, H and W are dynamic; H and W must be multiples of 4 (and at least 16 for the generator: its reflect
  padding at 1/4 scale needs room). Pad at the bottom/right (reflect) and crop the output.
- Metadata (``metadata_props``, strings): ``network``, ``size`` (training size), ``framework``, ``step``,
  ``config`` (the resolved config as JSON), ``gdn_version``, ``inputs`` (the conventions above).

The export uses the ``torch.export``-based exporter (onnxscript) and checks every model against PyTorch
with onnxruntime before anything is written; files appear in DIR only when every export succeeded.
The packages are the optional extra ``gdn[onnx]``; without them every entry point fails with one line
naming it.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["ExportError", "OnnxNetwork", "export_checkpoint", "export_network", "load_exported", "require",
           "FILES"]

FILES = {"generator": "generator.onnx", "detector": "detector.onnx"}
NAMES = {"generator": (("image", "mask"), "pred"), "detector": (("image",), "prob")}
INPUTS = ("image (B,3,H,W) float32 in [0,1]; mask (B,1,H,W) float32, 1 = hole; H, W multiples of 4 (>= 16); "
          "generator -> pred (B,3,H,W) raw, composite mask*pred + (1-mask)*image; detector -> prob (B,1,H,W)")
CHECKS = ((2, 48, 80), (1, 200, 136))  # (B, H, W) checked against PyTorch at export time
TOLERANCE = 1e-4  # max abs difference to PyTorch fp32 accepted at export time
EXTRA = "pip install 'gdn[onnx]'"


class ExportError(ValueError):
    """A user-caused problem with an export or an exported model (the message names the file), or the
    optional packages missing."""


def require(*modules: str) -> list[Any]:
    """Import the optional ONNX packages, or raise one ``ExportError`` naming the extra that provides them."""
    import importlib

    try:
        return [importlib.import_module(m) for m in modules]
    except ImportError as e:
        raise ExportError(f"the ONNX backend needs the optional extra 'onnx' (onnx, onnxscript, onnxruntime; "
                          f"{e}): {EXTRA}") from None


# ------------------------------------------------------------------------------------------------ runtime --

class OnnxNetwork:
    """An onnxruntime session called like the PyTorch network: float tensors in, a CPU tensor out."""

    def __init__(self, path: str | os.PathLike, providers: list[str] | None = None, threads: int = 0):
        (ort,) = require("onnxruntime")
        self.path = Path(path)
        if not self.path.is_file():
            raise ExportError(f"{self.path}: no such file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)  # 0: onnxruntime's default (the physical cores)
        opts.log_severity_level = 3  # errors only: one line is ours to print
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=providers or ["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for junk, truncated or foreign files
            detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ExportError(f"{self.path}: not a readable ONNX model ({detail})") from None
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        feeds = {name: np.ascontiguousarray(t.detach().cpu().float().numpy())
                 for name, t in zip(self.input_names, tensors)}
        return torch.from_numpy(self.session.run(None, feeds)[0])


def load_exported(folder: str | os.PathLike, providers: list[str] | None = None, threads: int = 0):
    """``(generator, detector or None, config)`` from an export folder; ``ExportError`` naming the file on
    any problem (missing folder or model, a PyTorch checkpoint given instead, models of two checkpoints)."""
    from gdn.config import ConfigError, from_dict

    folder = Path(folder)
    if folder.is_file():
        hint = (f"export it first (gdn export --checkpoint {folder} -o DIR) or use the torch backend"
                if folder.suffix == ".pt" else "give the folder written by gdn export")
        raise ExportError(f"{folder}: is a file, not an export folder; {hint}")
    if not folder.is_dir():
        raise ExportError(f"{folder}: no such folder")
    if not (folder / FILES["generator"]).is_file():
        raise ExportError(f"{folder}: no {FILES['generator']} here (write one with gdn export --checkpoint CKPT "
                          f"-o {folder})")
    nets = {kind: OnnxNetwork(folder / name, providers, threads) for kind, name in FILES.items()
            if (folder / name).is_file()}
    for kind, net in nets.items():
        meta = net.metadata
        if meta.get("network") != kind or "config" not in meta:
            raise ExportError(f"{net.path}: not a gdn {kind} export (no gdn metadata)")
    keys = ("config", "step")
    if "detector" in nets and any(nets["detector"].metadata.get(k) != nets["generator"].metadata.get(k) for k in keys):
        raise ExportError(f"{folder}: {FILES['generator']} and {FILES['detector']} come from different checkpoints")
    try:
        cfg = from_dict(json.loads(nets["generator"].metadata["config"]))
    except (ConfigError, ValueError, TypeError) as e:
        raise ExportError(f"{nets['generator'].path}: its config is not valid here ({e})") from None
    return nets["generator"], nets.get("detector"), cfg


# ------------------------------------------------------------------------------------------------- export --

class _StagedInstanceNorm(nn.Module):
    """``InstanceNorm2d`` as the export writes it: means over the width, then over the height (two passes:
    mean, then variance of the centred values). onnxruntime's fused ``InstanceNormalization`` sums all H*W
    values in one fp32 run, which puts the paper's generator 1e-4 off PyTorch at 256 px, 5e-4 at 512 px and
    2e-3 at 1024 px; the staged means stay within ~1e-5 at every size for ~10% more generator time."""

    def __init__(self, norm: nn.InstanceNorm2d):
        super().__init__()
        self.eps, self.weight, self.bias = norm.eps, norm.weight, norm.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def mean(t: torch.Tensor) -> torch.Tensor:
            return t.mean(dim=3, keepdim=True).mean(dim=2, keepdim=True)

        xc = x - mean(x)
        y = xc * torch.rsqrt(mean(xc * xc) + self.eps)
        return y if self.weight is None else y * self.weight[:, None, None] + self.bias[:, None, None]


def _copy(net: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(net).float().eval().cpu()


def _for_export(net: nn.Module) -> nn.Module:
    """A copy of ``net`` (fp32, eval, CPU) whose instance norms are ``_StagedInstanceNorm``."""
    net = _copy(net)
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.InstanceNorm2d) and not child.track_running_stats:
                setattr(parent, name, _StagedInstanceNorm(child))
    return net


def _rename_dims(proto, names: dict[str, str]) -> None:
    for value in [*proto.graph.input, *proto.graph.output, *proto.graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in names:
                dim.dim_param = names[dim.dim_param]


def export_network(net: nn.Module, kind: str, path: str | os.PathLike, metadata: dict[str, str]) -> float:
    """Write ``net`` (a ``Generator`` or ``Detector``, eval mode, fp32) to ``path`` as ONNX with dynamic
    batch, height and width and ``metadata``; returns the max abs difference to PyTorch over the ``CHECKS``
    batches (``RuntimeError`` above ``TOLERANCE``)."""
    onnx, _, ort = require("onnx", "onnxscript", "onnxruntime")
    inputs, output = NAMES[kind]
    net = _copy(net)  # the PyTorch reference, fp32 on the CPU; the caller's module is left as it was
    g = torch.Generator().manual_seed(0)
    example = {"image": torch.rand(2, 3, 64, 96, generator=g),
               "mask": (torch.rand(2, 1, 64, 96, generator=g) > 0.7).float()}
    batch, h4, w4 = torch.export.Dim("batch"), torch.export.Dim("h4", min=4), torch.export.Dim("w4", min=4)
    dynamic = {name: {0: batch, 2: 4 * h4, 3: 4 * w4} for name in inputs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(_for_export(net), tuple(example[n] for n in inputs), dynamo=True,
                                    dynamic_shapes=dynamic, input_names=list(inputs), output_names=[output],
                                    verbose=False)
    proto = program.model_proto
    _rename_dims(proto, {"batch": "batch", "4*h4": "height", "4*w4": "width"})
    meta = {**metadata, "network": kind, "inputs": INPUTS}
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=str(value))
    proto.doc_string = f"gdn {kind}: {INPUTS}"
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    diff = 0.0
    for b, h, w in CHECKS:  # shapes unlike the example's: a graph specialised to one size would show here
        check = {"image": torch.rand(b, 3, h, w, generator=g),
                 "mask": (torch.rand(b, 1, h, w, generator=g) > 0.7).float()}
        got = session.run(None, {n: check[n].numpy() for n in inputs})[0]
        with torch.inference_mode():
            want = net(*(check[n] for n in inputs)).numpy()
        diff = max(diff, float(np.abs(got - want).max()))
    if not diff <= TOLERANCE:
        raise RuntimeError(f"{path}: the exported {kind} differs from PyTorch by {diff:.2e} (> {TOLERANCE})")
    Path(path).write_bytes(data)
    return diff


def _writable_root(out: Path) -> Path:
    """The nearest existing folder at or above ``out``, checked writable; nothing is created."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a folder")
    root = out
    while not root.exists():
        root = root.parent
    if not root.is_dir():
        raise ExportError(f"{out}: cannot create the folder, {root} is a file")
    if not os.access(root, os.W_OK | os.X_OK):
        raise ExportError(f"{out}: cannot write to {root} (permission denied)")
    return root


def export_checkpoint(checkpoint: str | os.PathLike, out: str | os.PathLike,
                      detector: bool | None = None) -> dict[str, float]:
    """Export a checkpoint's generator (and its detector: ``None`` = when it has one, ``True`` = required,
    ``False`` = never) into the folder ``out``. Every check and export runs in a temporary folder beside
    ``out`` before anything is moved into place, so a failure writes nothing. Returns ``{file: max diff}``."""
    from gdn.version import __version__
    from gdn.engine.checkpoint import load_generator_and_detector

    require("onnx", "onnxscript", "onnxruntime")
    out = Path(out)
    root = _writable_root(out)
    generator, det, ckpt = load_generator_and_detector(checkpoint)
    cfg = ckpt["config"]
    if detector and det is None:
        raise ExportError(f"{checkpoint}: a {cfg.framework} checkpoint has no pixel-wise detector "
                          f"(only det checkpoints do); export without --detector")
    nets = {"generator": generator, **({"detector": det} if det is not None and detector is not False else {})}
    meta = {"size": cfg.size, "framework": cfg.framework, "step": ckpt["step"], "config": json.dumps(cfg.to_dict()),
            "gdn_version": __version__}
    tmp = Path(tempfile.mkdtemp(prefix=".gdn-export-", dir=root))
    try:
        diffs = {FILES[k]: export_network(net, k, tmp / FILES[k], meta) for k, net in nets.items()}
        out.mkdir(parents=True, exist_ok=True)
        for name in diffs:
            os.replace(tmp / name, out / name)
        if "detector" not in nets:  # a detector left by an earlier export would not match this generator
            (out / FILES["detector"]).unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return diffs


# -------------------------------------------------------------------------------------------- command line --
