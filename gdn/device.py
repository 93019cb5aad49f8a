"""The one device and precision helper: which device a name means, the autocast of a precision, and how many
CPU cores this process may use.

Every part of the package that runs networks (training, evaluation, inference, bench, the notebooks) asks
here, so ``"auto"`` means the same everywhere and a missing GPU gives the same one-line error.
"""
from __future__ import annotations

import contextlib
import os

import torch

__all__ = ["DeviceError", "PRECISIONS", "TRAINING_PRECISIONS", "resolve_device", "autocast", "sync",
           "compile_for_inference", "usable_cpus"]

PRECISIONS = ("fp32", "bf16", "fp16")  # fp32, or autocast to bfloat16 / float16
TRAINING_PRECISIONS = ("fp32", "bf16")  # training's: fp16 would need a gradient scaler, which training has not


class DeviceError(ValueError):
    """A device name that is not a device, or names one this machine does not have."""


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``"auto"``: the first CUDA GPU, else Apple's MPS, else the CPU; otherwise ``name`` checked to exist."""
    if isinstance(name, str) and name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"unknown device {str(name)!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {str(name)!r}: CUDA is not available on this machine (no GPU or a "
                              f"CPU-only torch build); use cpu")
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {str(name)!r}: only {torch.cuda.device_count()} CUDA device(s) exist")
        return torch.device("cuda", index)
    if dev.type == "mps" and not _mps_available():
        raise DeviceError(f"device {str(name)!r}: MPS is not available on this machine")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {str(name)!r} is not supported; use auto, cpu, cuda, cuda:N or mps")
    return dev


def autocast(device: torch.device | str, precision: str = "fp32"):
    """The context a forward pass runs in: nothing for fp32, autocast to bf16 or fp16 otherwise."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(torch.device(device).type, dtype=dtype)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (timings); a no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def compile_for_inference(module: torch.nn.Module, device: torch.device | str):
    """``torch.compile`` a network for repeated calls on ``device``: with CUDA graphs on CUDA (mode
    "reduce-overhead": one graph launch per call, no per-kernel launch cost at batch 1), the default mode
    elsewhere. Shapes are static: each new input shape compiles once more (seconds), so this pays where
    the same shape repeats (a benchmark, a folder of same-size photos); an output is overwritten by the next
    call on CUDA, so callers copy it before calling again."""
    mode = "reduce-overhead" if torch.device(device).type == "cuda" else None
    return torch.compile(module, mode=mode, dynamic=False)


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one, else all cores)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as ``CUDA_VISIBLE_DEVICES`` entries (what a child process gets to
    see one of them): the variable's own list when it is set, else ``0 .. device_count - 1``; empty without CUDA."""
    if not torch.cuda.is_available():
        return []
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [d.strip() for d in given.split(",") if d.strip()][:torch.cuda.device_count()]
    return [str(i) for i in range(torch.cuda.device_count())]
