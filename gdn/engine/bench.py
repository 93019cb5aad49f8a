"""Speed, memory and arithmetic of the networks on this machine: ``gdn bench``.

What is measured, per precision (fp32, and bf16 autocast):

- generator and detector latency: batch 1, median of ``repeats`` timed calls after warm-up, in ms. The paper
  reports 18.80 ms (G) and 13.07 ms (Det) per 256 x 256 image on its GPU; the table prints them beside ours;
- generator and detector throughput: images/s at the best of the batch sizes tried;
- one training step of the Det framework (G + detector, both backward passes, both Adam steps): images/s;
- peak memory: ``torch.cuda.max_memory_allocated`` on CUDA; on CPU the process's maximum RSS from
  ``resource.getrusage`` before and after (a process-lifetime high-water mark, so its growth is a lower bound)
  and, where ``/proc`` exists, the peak of the sampled RSS above its value when the phase began;
- with ``backend="onnx"`` (``gdn bench --backend onnx``, CPU only), the same generator and detector exported
  to ONNX (``gdn.engine.export``) and timed with onnxruntime in fp32, with as many threads as torch, beside PyTorch
  (column ``onnxruntime fp32``; no training step);
- with ``compile=True`` (``gdn bench --compile``), the networks through ``torch.compile`` (CUDA graphs on CUDA,
  ``gdn.device.compile_for_inference``) and the training step through ``Framework.compile_step``; the first
  ``COMPILE_CALLS`` calls of each shape (compilation, graph capture) are timed apart, as ``compile_s``, and the
  timed calls come after them;
- FLOPs counted from the model (``count_flops``: 2 x the MACs of every convolution, from forward hooks that see
  the real output shapes), the FLOP/s they imply, and that as a fraction of this machine's measured peak of a
  large square ``torch.matmul`` in the same dtype (``matmul_peak``).

At the defaults the generator costs 97,366,573,056 FLOPs per 256 px image (48.68 GMAC) and the detector
26,105,348,096. Timings synchronise the GPU around every timed call on CUDA, and only there.
"""
from __future__ import annotations

import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from gdn.device import autocast, compile_for_inference, resolve_device
from gdn.networks import Detector, Generator
from gdn.engine.probes import (MEMORY_NOTE, cudnn_tf32, MemoryProbe, machine_info, matmul_peak, model_flops,
                               time_ms)
from gdn.paper import INFERENCE_MS

__all__ = ["run_bench", "format_bench", "BenchError"]

_QUICK = dict(size=32, width=8, res_blocks=1, batches=(1, 2), train_batch=2, repeats=1)
COMPILE_CALLS = 3  # calls that compile (and, with CUDA graphs, warm up and record) before timing


def _first_calls_s(fn: Callable[[], Any], device: torch.device, calls: int) -> float:
    """Seconds for the first ``calls`` calls: the compilation a compiled model pays once per shape."""
    return sum(time_ms(fn, device, calls, warmup=0)) / 1e3


class BenchError(RuntimeError):
    """A benchmark that cannot run as asked (e.g. CUDA requested on a machine without a GPU)."""


def _log(enabled: bool, message: str) -> None:
    if enabled:
        print(f"[bench] {message}", file=sys.stderr, flush=True)


def _batch(b: int, size: int, device: torch.device, channels_last: bool) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(b)
    image = torch.rand(b, 3, size, size, generator=gen)
    mask = torch.zeros(b, 1, size, size)
    mask[:, :, size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1  # a centred hole, a quarter of the area
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return {"image": image.to(device).contiguous(memory_format=memory_format),
            "mask": mask.to(device).contiguous(memory_format=memory_format)}


def _bf16_skip_reason(device: torch.device) -> str | None:
    if device.type == "cuda":
        return None if torch.cuda.is_bf16_supported() else "this GPU does not support bf16"
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return None  # cannot tell: run it
    if native:
        return None
    return ("this CPU has no native bf16 path in oneDNN (no AVX512-BF16/AMX), so bf16 convolutions run a "
            "reference kernel ~100x slower than fp32; skipped (force_bf16=True / --force-bf16 runs it)")


def _inference(name: str, model: nn.Module, make_args: Callable[[dict], tuple], flops_per_image: int,
               peak: float, device: torch.device, precision: str, batches: Sequence[int], size: int,
               channels_last: bool, repeats: int, warmup: int, progress: bool, compiled: bool = False
               ) -> dict[str, Any]:
    per_batch: dict[str, dict[str, float]] = {}
    memory: dict[str, Any] = {}
    latency: list[float] = []
    compile_s = 0.0
    for b in batches:
        args = make_args(_batch(b, size, device, channels_last))
        probe = MemoryProbe(device)
        with probe if b == max(batches) else contextlib.nullcontext():
            with torch.inference_mode(), autocast(device, precision):
                if compiled:
                    compile_s += _first_calls_s(lambda: model(*args), device, COMPILE_CALLS)
                times = time_ms(lambda: model(*args), device, repeats, warmup + (1 if b == 1 else 0))
        median = statistics.median(times)
        per_batch[str(b)] = {"median_ms": median, "min_ms": min(times), "images_per_s": b * 1e3 / median}
        if b == 1:
            latency = times
        if b == max(batches):
            memory = {"batch": b, **probe.result}
        _log(progress, f"{precision} {name} batch {b}: median {median:.2f} ms, {b * 1e3 / median:.2f} img/s")
    best = max(per_batch, key=lambda k: per_batch[k]["images_per_s"])
    ips = per_batch[best]["images_per_s"]
    out: dict[str, Any] = {
        "latency_ms": statistics.median(latency) if latency else None,
        "latency_min_ms": min(latency) if latency else None,
        "throughput_images_per_s": ips,
        "throughput_batch": int(best),
        "per_batch": per_batch,
        "achieved_flops": flops_per_image * ips,
        "peak_fraction": flops_per_image * ips / peak if peak else None,
        "memory": memory,
        "compile_s": compile_s if compiled else None,
    }
    if latency:
        out["latency_achieved_flops"] = flops_per_image * 1e3 / out["latency_ms"]
    return out


def _train(width: int, res_blocks: int, size: int, batch: int, device: torch.device, precision: str,
           channels_last: bool, repeats: int, warmup: int, peak: float, progress: bool, compiled: bool = False
           ) -> dict[str, Any]:
    from gdn.config import resolve
    from gdn.frameworks import Framework

    cfg = resolve("paper", {"framework": "det", "width": width, "res_blocks": res_blocks, "size": size,
                            "batch_size": batch, "precision": precision, "channels_last": channels_last})
    torch.manual_seed(0)
    fw = Framework(cfg).to(device)
    if channels_last:
        fw.generator.to(memory_format=torch.channels_last)
        fw.critic.to(memory_format=torch.channels_last)
    fw.train()
    data = _batch(batch, size, device, channels_last)
    # The first warm-up step is also counted: convolution FLOPs of forward + both backward passes.
    flops = None
    try:
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as counter:
            fw.step(data)
        flops = int(counter.get_total_flops()) // batch
    except Exception as exc:  # the counter is a bonus; the step itself is what is timed below
        _log(progress, f"train FLOP counter unavailable ({type(exc).__name__}: {exc})")
        fw.step(data)
    compile_s = None
    if compiled:  # after the eager FLOP count: the counter's dispatch mode and the compiler do not mix
        fw.compile_step()
        compile_s = _first_calls_s(lambda: fw.step(data), device, COMPILE_CALLS)
        _log(progress, f"{precision} Det training step compiled in {compile_s:.1f} s")
    with MemoryProbe(device) as probe:
        times = time_ms(lambda: fw.step(data), device, repeats, max(warmup - 1, 0))
    median = statistics.median(times)
    ips = batch * 1e3 / median
    _log(progress, f"{precision} Det training step batch {batch}: median {median:.1f} ms, {ips:.2f} img/s")
    return {
        "batch": batch,
        "step_ms": median,
        "step_min_ms": min(times),
        "images_per_s": ips,
        "flops_per_image": flops,
        "achieved_flops": None if flops is None else flops * ips,
        "peak_fraction": None if flops is None or not peak else flops * ips / peak,
        "memory": {"batch": batch, **probe.result},
        "compile_s": compile_s,
    }


def _onnxruntime(generator: nn.Module, detector: nn.Module, g_flops: int, d_flops: int, peak: float,
                 common: dict[str, Any]) -> dict[str, Any]:
    """Generator and detector exported to ONNX (temporary files) and timed with onnxruntime like PyTorch."""
    import tempfile

    from gdn.engine.export import ExportError, OnnxNetwork, export_network, require

    try:
        (ort,) = require("onnxruntime")
        with tempfile.TemporaryDirectory(prefix="gdn-bench-") as tmp:
            nets = {}
            for kind, net in (("generator", generator), ("detector", detector)):
                export_network(net, kind, Path(tmp) / f"{kind}.onnx", {"size": str(common["size"])})
                nets[kind] = OnnxNetwork(Path(tmp) / f"{kind}.onnx", threads=torch.get_num_threads())
    except ExportError as e:
        raise BenchError(str(e)) from None
    return {
        "onnxruntime": ort.__version__,
        "threads": torch.get_num_threads(),
        "generator": _inference("onnxruntime generator", nets["generator"], lambda d: (d["image"], d["mask"]),
                                g_flops, peak, precision="fp32", **common),
        "detector": _inference("onnxruntime detector", nets["detector"], lambda d: (d["image"],), d_flops, peak,
                               precision="fp32", **common),
    }


# ------------------------------------------------------------------------------------------------ run

def run_bench(device: str | torch.device = "cpu", size: int | None = None, width: int | None = None,
              res_blocks: int | None = None, precision: str = "both", batches: Sequence[int] | None = None,
              train_batch: int | None = None, repeats: int | None = None, quick: bool = False,
              channels_last: bool = False, force_bf16: bool = False, progress: bool = True,
              threads: int | None = None, backend: str = "torch", compile: bool = False,
              cudnn_benchmark: bool = False) -> dict[str, Any]:
    """Benchmark G, Det and one Det training step; returns a JSON-able dict (see the module docstring).

    Defaults: 256 px, width 64, 8 residual blocks (the paper's networks), batches (1, 2, 4, 8), training batch
    8 on CUDA / 2 on CPU, repeats 20 on CUDA / 5 on CPU. ``quick=True`` is a smoke run for tests: 32 px,
    width 8, 1 residual block, batches (1, 2), training batch 2, 1 repeat (explicit arguments still win).
    ``precision``: "fp32", "bf16" (autocast) or "both". On a CPU without native bf16 the full-size bf16 run is
    skipped (it would take minutes per image) unless ``force_bf16``; quick runs always do it. ``threads``
    sets ``torch.set_num_threads`` for the run only (default: torch's, i.e. all cores). ``backend="onnx"`` adds
    onnxruntime timings of the same networks (CPU, fp32) under ``result["onnxruntime"]``. ``compile=True`` times
    the compiled networks and training step, with their compilation reported apart (``compile_s``).
    ``cudnn_benchmark=True`` lets cuDNN time its algorithms for each convolution shape during the warm-up calls
    (as ``gdn train cudnn_benchmark=true`` does) instead of picking them by its heuristics.
    """
    previous_threads, previous_cudnn = torch.get_num_threads(), torch.backends.cudnn.benchmark
    if threads:
        torch.set_num_threads(int(threads))
    torch.backends.cudnn.benchmark = bool(cudnn_benchmark)
    try:
        return _run_bench(device, size, width, res_blocks, precision, batches, train_batch, repeats, quick,
                          channels_last, force_bf16, progress, backend, compile)
    finally:
        torch.backends.cudnn.benchmark = previous_cudnn
        if threads:
            torch.set_num_threads(previous_threads)


def _run_bench(device, size, width, res_blocks, precision, batches, train_batch, repeats, quick, channels_last,
               force_bf16, progress, backend, compile) -> dict[str, Any]:
    t_start = time.perf_counter()
    dev = resolve_device(device)
    if precision not in ("fp32", "bf16", "both"):
        raise BenchError(f"precision must be 'fp32', 'bf16' or 'both', got {precision!r}")
    if backend not in ("torch", "onnx"):
        raise BenchError(f"backend must be 'torch' or 'onnx', got {backend!r}")
    if backend == "onnx" and dev.type != "cpu":
        raise BenchError("--backend onnx times onnxruntime on the CPU, beside PyTorch; use --device cpu")
    if backend == "onnx" and compile:
        raise BenchError("--compile times torch.compile; onnxruntime optimises its own graph (drop one of them)")
    base = _QUICK if quick else dict(size=256, width=64, res_blocks=8, batches=(1, 2, 4, 8),
                                     train_batch=8 if dev.type == "cuda" else 2,
                                     repeats=20 if dev.type == "cuda" else 5)
    size = base["size"] if size is None else int(size)
    width = base["width"] if width is None else int(width)
    res_blocks = base["res_blocks"] if res_blocks is None else int(res_blocks)
    batches = tuple(sorted({int(b) for b in (base["batches"] if batches is None else batches)}))
    train_batch = base["train_batch"] if train_batch is None else int(train_batch)
    repeats = base["repeats"] if repeats is None else int(repeats)
    if size <= 0 or size % 4:
        raise BenchError(f"size must be a positive multiple of 4, got {size}")
    if not batches or min(batches) < 1 or train_batch < 1 or repeats < 1 or width < 1 or res_blocks < 0:
        raise BenchError("batches, train_batch, repeats and width must be positive, res_blocks >= 0")
    warmup = 3 if dev.type == "cuda" else 1
    precisions = ("fp32", "bf16") if precision == "both" else (precision,)
    peak_seconds = 0.05 if quick else 2.0

    _log(progress, f"device {dev}, {torch.get_num_threads()} threads; {size} px, width {width}, "
                   f"{res_blocks} res blocks, batches {batches}, train batch {train_batch}, repeats {repeats}")
    g_flops, d_flops = model_flops(size, width, res_blocks)
    _log(progress, f"FLOPs per image: generator {g_flops:,}, detector {d_flops:,}")

    peaks: dict[str, float] = {}
    for p in precisions + (("fp32",) if backend == "onnx" and "fp32" not in precisions else ()):
        dtype = torch.bfloat16 if p == "bf16" else torch.float32
        peaks[p] = matmul_peak(dev, dtype, seconds=peak_seconds)
        _log(progress, f"matmul peak {p}: {peaks[p] / 1e9:.1f} GFLOP/s")

    torch.manual_seed(0)
    generator = Generator(width, res_blocks).to(dev).eval()
    detector = Detector().to(dev).eval()
    if channels_last:
        generator.to(memory_format=torch.channels_last)
        detector.to(memory_format=torch.channels_last)

    run_g, run_d = generator, detector
    if compile:
        run_g, run_d = compile_for_inference(generator, dev), compile_for_inference(detector, dev)
    results: dict[str, Any] = {}
    common = dict(device=dev, batches=batches, size=size, channels_last=channels_last, repeats=repeats,
                  warmup=warmup, progress=progress)
    for p in precisions:
        if p == "bf16" and not quick and not force_bf16:
            reason = _bf16_skip_reason(dev)
            if reason:
                _log(progress, f"bf16 skipped: {reason}")
                results[p] = {"skipped": reason}
                continue
        results[p] = {
            "generator": _inference("generator", run_g, lambda d: (d["image"], d["mask"]), g_flops,
                                    peaks[p], precision=p, compiled=compile, **common),
            "detector": _inference("detector", run_d, lambda d: (d["image"],), d_flops, peaks[p],
                                   precision=p, compiled=compile, **common),
            "train": _train(width, res_blocks, size, train_batch, dev, p, channels_last, repeats, warmup,
                            peaks[p], progress, compiled=compile),
        }
    extra = {}
    if backend == "onnx":
        extra["onnxruntime"] = _onnxruntime(generator, detector, g_flops, d_flops, peaks["fp32"], common)
    return {
        "config": {"device": str(dev), "size": size, "width": width, "res_blocks": res_blocks,
                   "precisions": list(precisions), "batches": list(batches), "train_batch": train_batch,
                   "repeats": repeats, "warmup": warmup, "channels_last": channels_last, "quick": quick,
                   "backend": backend, "compile": compile,
                   "cudnn_benchmark": torch.backends.cudnn.benchmark},
        "flops_per_image": {"generator": g_flops, "detector": d_flops,
                            "train_step": next((r["train"]["flops_per_image"] for r in results.values()
                                                if "train" in r), None)},
        "flops_note": "generator/detector: 2 x conv MACs from forward hooks (count_flops); train_step: "
                      "torch.utils.flop_counter over one Det step (forward + both backward passes), per image",
        "matmul_peak_flops": peaks,
        "matmul_peak_note": ("large square torch.matmul, best of several, all threads"
                             + ("; fp32 with TF32 as cuDNN convs use it" if dev.type == "cuda"
                                and cudnn_tf32() else "")),
        "paper_gpu_ms": {k: INFERENCE_MS[k] for k in ("generator", "detector")},
        "results": results,
        **extra,
        "memory_note": MEMORY_NOTE[dev.type],
        "machine": machine_info(dev),
        "elapsed_s": time.perf_counter() - t_start,
    }


# ------------------------------------------------------------------------------------------------ report

def _fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _flops_cell(achieved: float | None, fraction: float | None) -> str:
    if achieved is None:
        return "-"
    return f"{achieved / 1e9:.1f} ({fraction * 100:.0f}%)" if fraction is not None else f"{achieved / 1e9:.1f}"


def _memory_cell(memory: dict[str, Any]) -> str:
    if "cuda_max_allocated_mib" in memory:
        return f"{memory['cuda_max_allocated_mib']:.0f} MiB @b{memory['batch']}"
    growth = memory.get("sampled_rss_peak_growth_mib")
    if growth is None:
        growth = memory.get("process_maxrss_growth_mib")
    return f"+{_fmt(growth, '.0f')} MiB @b{memory.get('batch', '?')}"


def _cell(cell: Callable[[dict], str], run: dict) -> str:
    try:
        return cell(run)
    except KeyError:  # a measurement this column does not have (onnxruntime: no training step)
        return "-"


def format_bench(result: dict[str, Any]) -> str:
    """A readable table of ``run_bench``'s result, with the paper's GPU latencies as a reference column."""
    cfg, machine, flops = result["config"], result.get("machine", {}), result["flops_per_image"]
    runs = {p: r for p, r in result["results"].items() if "skipped" not in r}
    if result.get("onnxruntime"):  # beside PyTorch: generator and detector only, no training step
        runs = {f"torch {p}": r for p, r in runs.items()} | {"onnxruntime fp32": result["onnxruntime"]}
    cuda = cfg["device"].startswith("cuda")
    lines = [
        f"gdn bench: {cfg['device']} ({machine.get('device_name', '?')}), {machine.get('threads', '?')} threads, "
        f"torch {machine.get('torch', '?')}, {machine.get('date', '')}",
        f"{cfg['size']} px, width {cfg['width']}, {cfg['res_blocks']} res blocks, channels_last "
        f"{cfg['channels_last']}, compiled {cfg.get('compile', False)}, cuDNN benchmark "
        f"{cfg.get('cudnn_benchmark', False)}, median of {cfg['repeats']} after "
        f"{cfg['warmup']} warm-up" + (f" and {COMPILE_CALLS} compiling calls per shape" if cfg.get("compile") else ""),
        f"FLOPs/image: generator {flops['generator'] / 1e9:.2f} G, detector {flops['detector'] / 1e9:.2f} G"
        + (f", Det train step {flops['train_step'] / 1e9:.1f} G" if flops.get("train_step") else ""),
        "matmul peak: " + ", ".join(f"{p} {v / 1e9:.1f} GFLOP/s" for p, v in result["matmul_peak_flops"].items()),
        "",
    ]
    cols = list(runs)
    head = f"{'':34}" + "".join(f"{p:>20}" for p in cols) + f"{'paper (its GPU)':>18}"
    lines += [head, "-" * len(head)]

    def row(label: str, cell: Callable[[dict], str], paper: str = "") -> None:
        lines.append(f"{label:34}" + "".join(f"{_cell(cell, runs[p]):>20}" for p in cols) + f"{paper:>18}")

    row("G latency, batch 1 (ms)", lambda r: _fmt(r["generator"]["latency_ms"], ".2f"),
        f"{INFERENCE_MS['generator']:.2f}")
    row("Det latency, batch 1 (ms)", lambda r: _fmt(r["detector"]["latency_ms"], ".2f"),
        f"{INFERENCE_MS['detector']:.2f}")
    row("G throughput (img/s @batch)", lambda r: f"{r['generator']['throughput_images_per_s']:.2f} "
                                                 f"@{r['generator']['throughput_batch']}")
    row("  G GFLOP/s (% matmul peak)", lambda r: _flops_cell(r["generator"]["achieved_flops"],
                                                             r["generator"]["peak_fraction"]))
    row("Det throughput (img/s @batch)", lambda r: f"{r['detector']['throughput_images_per_s']:.2f} "
                                                   f"@{r['detector']['throughput_batch']}")
    row("  Det GFLOP/s (% matmul peak)", lambda r: _flops_cell(r["detector"]["achieved_flops"],
                                                               r["detector"]["peak_fraction"]))
    row("Det-framework train (img/s @b)", lambda r: f"{r['train']['images_per_s']:.2f} @{r['train']['batch']}")
    row("  train step (ms)", lambda r: _fmt(r["train"]["step_ms"], ".0f"))
    row("  train GFLOP/s (% matmul peak)", lambda r: _flops_cell(r["train"]["achieved_flops"],
                                                                 r["train"]["peak_fraction"]))
    if cfg.get("compile"):
        row("compile + first calls, G (s)", lambda r: _fmt(r["generator"]["compile_s"], ".1f"))
        row("compile + first calls, Det (s)", lambda r: _fmt(r["detector"]["compile_s"], ".1f"))
        row("compile + first calls, train (s)", lambda r: _fmt(r["train"]["compile_s"], ".1f"))
    mem = "peak CUDA alloc" if cuda else "peak RSS growth"
    row(f"G memory ({mem})", lambda r: _memory_cell(r["generator"]["memory"]))
    row(f"Det memory ({mem})", lambda r: _memory_cell(r["detector"]["memory"]))
    row(f"train memory ({mem})", lambda r: _memory_cell(r["train"]["memory"]))
    if not cuda:
        row("process max RSS after train (MiB)", lambda r: _fmt(r["train"]["memory"].get("process_maxrss_mib"), ".0f"))
    lines.append("")
    lines.append("paper column: the paper's reported per-image times on its GPU, for reference only.")
    for p, r in result["results"].items():
        if "skipped" in r:
            lines.append(f"{p}: skipped: {r['skipped']}")
    lines.append("memory: " + result.get("memory_note", ""))
    load = machine.get("loadavg_1m")
    usable = machine.get("cpus_usable") or machine.get("cpu_count")
    if not cuda and load is not None and usable and load > 0.5 * usable:
        lines.append(f"warning: 1-minute load average {load:.1f} on {usable} CPUs: other processes shared the "
                     f"cores, timings are pessimistic")
    return "\n".join(lines)
