"""What ``gdn bench`` measures with: FLOPs counted from a model, this machine's matrix-multiply peak, memory
high-water marks, timed calls and a description of the machine. Each is usable alone, e.g. in a notebook."""
from __future__ import annotations

import contextlib
import datetime
import math
import os
import platform
import sys
import threading
import time
import warnings
from typing import Any, Callable

import torch
from torch import nn

from gdn.device import resolve_device, sync, usable_cpus
from gdn.networks import Detector, Generator

__all__ = ["count_flops", "cudnn_tf32", "model_flops", "matmul_peak", "MemoryProbe", "MEMORY_NOTE", "time_ms",
           "machine_info"]

_MIB = 2.0 ** 20


# ----------------------------------------------------------------------------------------------- FLOPs

def _conv_macs(module: nn.Module, args: tuple, output: torch.Tensor) -> int:
    # Conv weight (C_out, C_in/groups, *k): MACs = output elements x C_in/groups x prod(k).
    # ConvTranspose weight (C_in, C_out/groups, *k): MACs = input elements x C_out/groups x prod(k),
    # i.e. H_in*W_in*C_in*C_out*k^2 per sample (the fvcore convention; it counts the zero-stuffed taps too).
    weight = module.weight
    per_element = weight.shape[1] * math.prod(weight.shape[2:])
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return args[0].numel() * per_element
    return output.numel() * per_element


def count_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs of one forward pass of ``model(*inputs)`` for the whole batch given: 2 x the multiply-accumulates
    of every Conv/ConvTranspose layer, read from forward hooks (so the real output shapes are used). Norms,
    activations, padding and biases are not counted. Works on the meta device (only shapes are needed).
    The model's train/eval flags are restored and no gradient is recorded."""
    model = getattr(model, "_orig_mod", model)  # torch.compile wrapper: hook the real modules
    total = [0]

    def hook(module, args, output):
        total[0] += 2 * _conv_macs(module, args, output)

    convs = [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]
    handles = [m.register_forward_hook(hook) for m in convs]
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()  # no running-statistics updates while counting
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, training in modes.items():
            m.training = training
    return int(total[0])


def model_flops(size: int, width: int, res_blocks: int) -> tuple[int, int]:
    """Generator and detector FLOPs per image at ``size`` px, counted on the meta device (no compute)."""
    try:
        with torch.device("meta"):
            g, d = Generator(width, res_blocks), Detector()
            image, mask = torch.empty(1, 3, size, size), torch.empty(1, 1, size, size)
        return count_flops(g, image, mask), count_flops(d, image)
    except (RuntimeError, NotImplementedError):  # an op without a meta kernel: count on real CPU tensors
        g, d = Generator(width, res_blocks), Detector()
        image, mask = torch.zeros(1, 3, size, size), torch.zeros(1, 1, size, size)
        return count_flops(g, image, mask), count_flops(d, image)


# ------------------------------------------------------------------------------------------ device, peak

def cudnn_tf32() -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(torch.backends.cudnn.allow_tf32)


@contextlib.contextmanager
def _matmul_precision(tf32: bool):
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def matmul_peak(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, seconds: float = 2.0,
                n_max: int | None = None, tf32: bool | None = None) -> float:
    """This machine's measured matrix-multiply peak in FLOP/s: the best of several timed ``torch.matmul`` of
    two n x n matrices, with all of torch's threads. n doubles from 256 until one product takes about a tenth
    of ``seconds`` (or reaches ``n_max``: 4096 on CPU, 8192 on CUDA); then products are timed for about
    ``seconds``. On CUDA, fp32 follows the TF32 setting the convolutions use (``torch.backends.cudnn.allow_tf32``)
    unless ``tf32`` says otherwise, so the peak matches the arithmetic the networks actually get."""
    dev = resolve_device(device)
    n_max = n_max or (8192 if dev.type == "cuda" else 4096)
    use_tf32 = dev.type == "cuda" and dtype == torch.float32 and (cudnn_tf32() if tf32 is None else tf32)
    ctx = _matmul_precision(use_tf32) if dev.type == "cuda" and dtype == torch.float32 else contextlib.nullcontext()
    gen = torch.Generator().manual_seed(0)
    with ctx, torch.inference_mode():
        n = 256
        while True:
            a = torch.randn(n, n, generator=gen).to(device=dev, dtype=dtype)
            b = torch.randn(n, n, generator=gen).to(device=dev, dtype=dtype)
            torch.matmul(a, b)  # warm-up: library initialisation, kernel selection
            sync(dev)
            t0 = time.perf_counter()
            torch.matmul(a, b)
            sync(dev)
            single = time.perf_counter() - t0
            if single >= seconds / 10 or n >= n_max:
                break
            n *= 2
        # several products per sample when one is short (GPU), so launch overhead does not count
        inner = max(1, math.ceil((seconds / 10) / max(single, 1e-9)))
        best, start, samples = math.inf, time.perf_counter(), 0
        while samples < 3 or time.perf_counter() - start < seconds:
            sync(dev)
            t0 = time.perf_counter()
            for _ in range(inner):
                torch.matmul(a, b)
            sync(dev)
            best = min(best, (time.perf_counter() - t0) / inner)
            samples += 1
            if samples >= 1000:
                break
    return 2.0 * n ** 3 / best


# ------------------------------------------------------------------------------------------------ memory

def _maxrss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024  # bytes on macOS, KiB on Linux


def _current_rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class MemoryProbe:
    """Peak memory of the code inside ``with``. CUDA: ``max_memory_allocated`` (tensors only, weights and
    optimiser state included). CPU: process max RSS before/after from ``getrusage`` and the peak of RSS
    sampled every few ms above its value at entry (the whole process: weights, allocator caches, libraries)."""

    def __init__(self, device: torch.device, interval_s: float = 0.005):
        self.device, self.interval_s = device, interval_s
        self.result: dict[str, Any] = {}

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            return self
        self._maxrss0 = _maxrss_bytes()
        self._rss0 = _current_rss_bytes()
        self._peak = self._rss0
        self._stop = threading.Event()
        self._thread = None
        if self._rss0 is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            rss = _current_rss_bytes()
            if rss is not None and rss > self._peak:
                self._peak = rss

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            self.result = {"cuda_max_allocated_mib": peak / _MIB,
                           "cuda_allocated_growth_mib": (peak - self._start) / _MIB}
            return False
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        rss = _current_rss_bytes()
        if rss is not None and self._peak is not None:
            self._peak = max(self._peak, rss)
        maxrss1 = _maxrss_bytes()
        self.result = {
            "process_maxrss_mib": None if maxrss1 is None else maxrss1 / _MIB,
            "process_maxrss_growth_mib": (None if maxrss1 is None or self._maxrss0 is None
                                          else (maxrss1 - self._maxrss0) / _MIB),
            "sampled_rss_peak_growth_mib": (None if self._rss0 is None else (self._peak - self._rss0) / _MIB),
        }
        return False


MEMORY_NOTE = {
    "cuda": "cuda_max_allocated_mib: torch.cuda.max_memory_allocated during the phase (tensors incl. weights); "
            "cuda_allocated_growth_mib: that minus what was allocated when the phase began.",
    "cpu": "process_maxrss_mib: resource.getrusage max RSS of the whole process after the phase (a lifetime "
           "high-water mark); process_maxrss_growth_mib: its growth during the phase (a lower bound, 0 once an "
           "earlier phase went higher); sampled_rss_peak_growth_mib: peak of /proc/self/statm RSS sampled "
           "every 5 ms above its value when the phase began.",
}


# ------------------------------------------------------------------------------------------------ timing

def time_ms(fn: Callable[[], Any], device: torch.device, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


# ------------------------------------------------------------------------------------------------ machine

def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_info(device: str | torch.device = "cpu") -> dict[str, Any]:
    """Where the numbers come from: torch version, device name, CPU count, threads, date (UTC)."""
    dev = torch.device(device)
    info: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(dev),
        "device_name": _cpu_name(),
        "cpu_name": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = usable_cpus()
    if hasattr(os, "getloadavg"):
        try:
            info["loadavg_1m"] = os.getloadavg()[0]
        except OSError:
            pass
    with contextlib.suppress(Exception):
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    if dev.type == "cuda" and torch.cuda.is_available():
        info["device_name"] = torch.cuda.get_device_name(dev)
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
        info["cudnn_tf32"] = cudnn_tf32()
    return info
