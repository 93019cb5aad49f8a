"""Helpers of ``.ci/gpu-check``: ``profile OUT DEVICE PROFILE [key=value ...]`` prints where a Det training
step spends its time (eager, then compiled); ``kernels DEVICE`` times the generator's memory-bound layers
(instance norm, reflection padding) in the forms that could replace them; ``summary OUT`` prints the
before/after tables as Markdown."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def _batch(cfg, device):
    import numpy as np
    import torch

    from gdn.masks import random_mask

    rng = np.random.default_rng(0)
    image = torch.rand(cfg.batch_size, 3, cfg.size, cfg.size)
    mask = torch.from_numpy(np.stack([random_mask(cfg.size, rng) for _ in range(cfg.batch_size)])).float()[:, None]
    batch = {"image": image.to(device), "mask": mask.to(device)}
    if cfg.channels_last:
        batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
    return batch


def profile(out: str, device: str, profile_name: str, *pairs: str) -> None:
    import torch
    from torch.profiler import ProfilerActivity, profile as torch_profile

    from gdn.config import parse_overrides, resolve
    from gdn.device import resolve_device, sync
    from gdn.frameworks import Framework

    dev = resolve_device(device)
    cfg = resolve(profile_name, parse_overrides(pairs) | {"device": device})
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    key = "self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    for compiled in (False, True):
        torch.manual_seed(0)
        fw = Framework(cfg).to(dev)
        if cfg.channels_last:
            fw.to(memory_format=torch.channels_last)
        if compiled:
            fw.compile_step(cfg.compile_mode)
        batch = _batch(cfg, dev)
        for _ in range(4):
            fw.step(batch)
        sync(dev)
        with torch_profile(activities=activities) as prof:
            for _ in range(5):
                fw.step(batch)
            sync(dev)
        print(f"## {'compiled' if compiled else 'eager'} Det step, {cfg.precision}, channels_last "
              f"{cfg.channels_last}, batch {cfg.batch_size}, {cfg.size} px (5 steps)\n")
        print(prof.key_averages().table(sort_by=key, row_limit=25))
        if dev.type == "cuda":
            prof.export_chrome_trace(str(Path(out) / f"trace_{'compiled' if compiled else 'eager'}.json"))


def kernels(device: str) -> None:
    """Forward + backward of one generator layer's glue at the paper's middle size (batch 8, 256 channels,
    64 x 64; bf16 autocast on CUDA), in the forms that compute the same thing, so the next change to
    ``gdn.networks`` is chosen by measurement: which norm and which padding cost the fewest memory passes."""
    import torch
    import torch.nn.functional as F

    from gdn.device import autocast, resolve_device
    from gdn.engine.probes import time_ms

    dev = resolve_device(device)
    cuda = dev.type == "cuda"
    b, c, h = (8, 256, 64) if cuda else (2, 32, 16)
    precision = "bf16" if cuda else "fp32"
    gen = torch.Generator().manual_seed(0)
    weight = torch.nn.Parameter(torch.ones(c, device=dev))
    bias = torch.nn.Parameter(torch.zeros(c, device=dev))
    conv = torch.nn.Parameter(torch.randn(c, c, 3, 3, generator=gen).div(c * 3).to(dev))

    def inputs(channels_last: bool):
        x = torch.randn(b, c, h, h, generator=gen).to(dev, torch.bfloat16 if cuda else torch.float32)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        return x.contiguous(memory_format=fmt).requires_grad_()

    def inorm(x):
        return F.instance_norm(x, weight=weight, bias=bias, eps=1e-5)

    def gnorm(x):
        return F.group_norm(x, c, weight, bias, eps=1e-5)

    def manual(x):
        # the instance norm as reductions over H, W in fp32: no reshape to (1, B*C, H, W)
        xf = x.float()
        var, mean = torch.var_mean(xf, dim=(2, 3), keepdim=True, correction=0)
        return ((xf - mean) * torch.rsqrt(var + 1e-5) * weight[:, None, None] + bias[:, None, None]).to(x.dtype)

    def pad_conv(x):
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), conv, dilation=2)

    def zero_conv(x):
        return F.conv2d(x, conv, dilation=2, padding=2)

    variants = [("instance_norm", inorm), ("group_norm, C groups", gnorm), ("var_mean in fp32", manual),
                ("instance_norm, compiled", torch.compile(inorm)),
                ("reflect pad 2 + conv 3x3 dil 2", pad_conv), ("the same, compiled", torch.compile(pad_conv)),
                ("conv 3x3 dil 2, zero pad (no pad pass)", zero_conv)]
    print(f"## Layer glue, forward + backward, ({b}, {c}, {h}, {h}), {precision} (median ms of 20)\n")
    print("| form | channels_last | contiguous |\n|---|---|---|")
    for name, fn in variants:
        cells = []
        for cl in (True, False):
            x = inputs(cl)

            def step():
                with autocast(dev, precision):
                    y = fn(x)
                y.backward(torch.ones_like(y))
            try:
                cells.append(f"{sorted(time_ms(step, dev, 20, warmup=3))[10]:.3f}")
            except Exception as exc:  # one failing form must not cost the others
                cells.append(f"failed: {type(exc).__name__}")
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)


def _steady(run: Path) -> tuple[float | None, int]:
    """Images/s over the last 60 % of a run's log rows (past the start and the compilation), and its steps."""
    log, cfg = run / "log.csv", run / "config.json"
    if not log.exists() or not cfg.exists():
        return None, 0
    rows = [r for r in csv.DictReader(open(log)) if r.get("elapsed_s")]
    batch = json.loads(cfg.read_text())["batch_size"]
    if len(rows) < 3:
        return None, int(rows[-1]["step"]) if rows else 0
    a, b = rows[int(len(rows) * 0.4)], rows[-1]
    span = float(b["elapsed_s"]) - float(a["elapsed_s"])
    return (int(b["step"]) - int(a["step"])) * batch / span if span > 0 else None, int(b["step"])


def _load(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def _fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def summary(out: str) -> None:
    out = Path(out)
    machine = (out / "torch.txt").read_text().strip() if (out / "torch.txt").exists() else "?"
    print(f"# GPU check: {machine}\n")
    print("## gdn bench (median ms / img/s; % of the measured matmul peak)\n")
    print("| row | before (eager) | eager | compiled | compiled, cuDNN benchmark |\n|---|---|---|---|---|")
    before, cudnn = _load(out / "bench_before.json"), _load(out / "bench_compile_cudnn.json")
    eager, comp = _load(out / "bench_eager.json"), _load(out / "bench_compile.json")

    def cell(res, path, spec=".3f"):
        if not res:
            return "-"
        p = next((v for v in res["results"].values() if "skipped" not in v), None)
        for k in path:
            p = None if p is None else p.get(k)
        return _fmt(p, spec)
    for label, path, spec in [("G latency, batch 1 (ms)", ("generator", "latency_ms"), ".3f"),
                              ("Det latency, batch 1 (ms)", ("detector", "latency_ms"), ".3f"),
                              ("G throughput (img/s)", ("generator", "throughput_images_per_s"), ".0f"),
                              ("G share of peak", ("generator", "peak_fraction"), ".1%"),
                              ("Det-framework train step (img/s)", ("train", "images_per_s"), ".0f"),
                              ("train share of peak", ("train", "peak_fraction"), ".1%"),
                              ("compile + first calls: G, Det, train (s)", None, "")]:
        if path is None:
            print(f"| {label} | - | - | " + " | ".join(", ".join(cell(r, (n, "compile_s"), ".1f") for n in
                                                          ("generator", "detector", "train")) for r in (comp, cudnn))
                  + " |")
        else:
            print(f"| {label} | " + " | ".join(cell(r, path, spec) for r in (before, eager, comp, cudnn)) + " |")
    print("\n## Data loader alone\n\n| workers | img/s |\n|---|---|")
    for name in ("loader_2", "loader_auto"):
        r = _load(out / f"{name}.json")
        if r:
            print(f"| {r['workers']} | {r['images_per_s']:.0f} |")
    print("\n## Training (gdn train, steady img/s over the last 60 % of the log)\n\n| run | img/s | steps |\n|---|---|---|")
    for run in sorted((out / "runs").glob("*")) if (out / "runs").exists() else []:
        ips, steps = _steady(run)
        print(f"| {run.name} | {_fmt(ips, '.0f')} | {steps} |")


if __name__ == "__main__":
    {"profile": profile, "kernels": kernels, "summary": summary}[sys.argv[1]](*sys.argv[2:])
