"""The rates a book's trainings run at, before they run: seconds per generator step, critic-only step,
validation and checkpoint save of each framework, and its start-up, for :mod:`gdn.book.costs` to turn into times.

On a CPU they are measured on this machine by a short probe (:func:`probe`: a few generator steps, critic-only
steps, one validation and one checkpoint save of each framework, in a child process with the threads a training
gets, as many side by side as the book runs), by two clocks: the wall's (what a book started now would see) and
the CPU's (about what it sees on cores of its own). On CUDA they are the ones recorded on an H200
(:func:`gpu_rates`, :data:`gdn.book.records.GPU_RATES`: no probe, the compile alone takes a minute)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from gdn.book.plan import BookError

__all__ = ["Rates", "probe", "gpu_rates", "training_rates"]


@dataclass
class Rates:
    """Seconds per generator step, critic-only step, validation and checkpoint save of one framework's run, and
    its start-up (interpreter, imports, networks, data), with where they come from."""
    gen_s: float
    critic_s: float
    eval_s: float
    save_s: float
    setup_s: float
    source: str  # "probe" | "recorded GPU rates"


# --------------------------------------------------------------------------------------------------- probe

def _probe_child() -> None:
    """A probe process: argv is the config (JSON) and the seconds to spend on each kind of step. Prints one JSON
    line: for each clock ("wall", and "cpu": this process's CPU time), seconds per generator step, critic-only
    step, validation and checkpoint save, and the start-up (the CPU clock's from the process's start)."""
    started = time.perf_counter()
    import tempfile

    import torch

    from gdn.config import from_dict
    from gdn.device import resolve_device, sync
    from gdn.engine.checkpoint import save_checkpoint
    from gdn.engine.loader import EpochSampler, build_train_set, run_loader
    from gdn.engine.train import _val_batch, _validate, init_generator
    from gdn.frameworks import Framework

    cfg, budget = from_dict(json.loads(sys.argv[1])), float(sys.argv[2])
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    fw = Framework(cfg).to(device)
    if cfg.init:
        init_generator(fw, cfg)
    if cfg.channels_last:
        fw.to(memory_format=torch.channels_last)
    train_set = build_train_set(cfg)
    sampler = EpochSampler(len(train_set), cfg.batch_size, cfg.seed)
    batches = iter(run_loader(cfg, train_set, sampler, 0, device, cfg.batch_size))
    val = _val_batch(cfg, device)
    fw.train()
    found = {"wall": {"setup_s": time.perf_counter() - started}, "cpu": {"setup_s": time.process_time()}}

    def clocks() -> tuple[float, float]:
        sync(device)
        return time.perf_counter(), time.process_time()

    def timed(key: str, work, n: int = 1) -> None:
        (w0, c0), _ = clocks(), work()
        w1, c1 = clocks()
        found["wall"][key], found["cpu"][key] = (w1 - w0) / n, (c1 - c0) / n

    def steps(train_generator: bool) -> int:
        def one():
            fw.step({k: v.to(device) for k, v in next(batches).items()}, train_generator=train_generator)

        one()  # the first step allocates: not timed
        w0, n = time.perf_counter(), 0
        while n < 2 or (time.perf_counter() - w0 < budget and n < 200):
            one()
            n += 1
        return n

    n = {}
    timed("gen_s", lambda: n.__setitem__("gen", steps(True)))
    found["wall"]["gen_s"] /= n["gen"]
    found["cpu"]["gen_s"] /= n["gen"]
    if fw.critic is not None:
        timed("critic_s", lambda: n.__setitem__("critic", steps(False)))
        found["wall"]["critic_s"] /= n["critic"]
        found["cpu"]["critic_s"] /= n["critic"]
    else:
        found["wall"]["critic_s"] = found["cpu"]["critic_s"] = 0.0
    timed("eval_s", lambda: _validate(fw, val, cfg.batch_size))
    with tempfile.TemporaryDirectory() as tmp:
        timed("save_s", lambda: save_checkpoint(Path(tmp) / "probe.pt", fw.state(), cfg, 1, framework=cfg.framework))
    print(json.dumps(found))


def probe(cfgs: Mapping[str, Any], *, jobs: int = 1, threads: int | None = None, budget: float = 3.0,
          say=None) -> dict[str, dict[str, Rates]]:
    """:class:`Rates` of each config (name -> config; one per framework), measured on this machine: each in a
    child process with ``threads`` OpenMP threads (what the runner gives a training), ``jobs`` of them side by
    side as the runner runs trainings (padded with repeats so every wave is full, and a repeated config's rates
    averaged). ``budget``: seconds on each kind of step. Raises ``BookError`` when a probe fails.

    Returns the rates by clock: ``"wall"`` (what a book started now would see, other work on the machine
    included) and ``"cpu"`` (each process's CPU time: with one thread each, roughly what it sees on cores of its
    own; this machine's CPU time grows too when other work shares its cores, so it is a bound, not a forecast)."""
    queue = list(cfgs)
    if jobs > 1 and len(queue) % jobs:
        queue += [queue[i % len(queue)] for i in range(jobs - len(queue) % jobs)]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(int(threads))} if threads else {}))
    code = "from gdn.book.rates import _probe_child; _probe_child()"
    found: dict[str, list[dict]] = {}
    for i in range(0, len(queue), jobs):
        wave = queue[i:i + jobs]
        if say:
            say(f"probing {', '.join(wave)} ({'side by side, ' if len(wave) > 1 else ''}"
                f"{threads or 'all'} thread{'s' * (threads != 1)} each) ...")
        procs = [(name, subprocess.Popen([sys.executable, "-c", code, json.dumps(cfgs[name].to_dict()), str(budget)],
                                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                 for name in wave]
        for name, proc in procs:
            stdout, stderr = proc.communicate()
            if proc.returncode:
                lines = [line for line in stderr.splitlines() if line.strip()] or ["(no message)"]
                raise BookError(f"the time probe of {name} failed: {lines[-1]}")
            found.setdefault(name, []).append(json.loads(stdout.strip().splitlines()[-1]))
    return {clock: {name: Rates(source="probe", **{k: sum(r[clock][k] for r in runs) / len(runs)
                                                   for k in runs[0][clock]})
                    for name, runs in found.items()} for clock in ("wall", "cpu")}


def gpu_rates(cfg, framework: str) -> Rates:
    """The recorded H200 rates (:data:`gdn.book.records.GPU_RATES`) of ``framework``, as :class:`Rates`: the
    compiled step's when ``compile``, else the eager one's (recorded for Det; Weight and Adv scaled alike)."""
    from gdn.book.records import GPU_RATES

    compiled = GPU_RATES["img_per_s"]
    eager = GPU_RATES["eager_det_img_per_s"] * compiled[framework] / compiled["det"]
    step = cfg.batch_size / (compiled[framework] if cfg.compile else eager)
    return Rates(gen_s=step, critic_s=step, eval_s=0.0, save_s=0.0,
                 setup_s=GPU_RATES["compile_s"] if cfg.compile else 0.0, source="recorded GPU rates")


def _device_type(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "other"
    return "cuda" if device.startswith("cuda") else "other"


def training_rates(prep, by_framework: Mapping[str, Any], budget: float, say) -> tuple[dict, list[str]]:
    """The rates of each framework to train (``by_framework``: framework -> a config of it) for the book ``prep``
    (:class:`gdn.book.runner.Prepared`), by clock ("wall"; on a CPU also "cpu"), and the sentences saying where
    they come from."""
    from gdn.book.build import fmt_time
    from gdn.book.records import GPU_RATES

    if not by_framework:
        return {"wall": {}}, []
    if _device_type(prep.cfg.device) == "cuda":
        rates = {fw: gpu_rates(cfg, fw) for fw, cfg in by_framework.items()}
        speeds = " / ".join(f"{cfg.batch_size / rates[fw].gen_s:.0f}" for fw, cfg in by_framework.items())
        how = [f"trainings: the rates recorded on {GPU_RATES['machine']} ({GPU_RATES['when']}, book/gpu.md; "
               f"{GPU_RATES['setting']}, {'compiled' if prep.cfg.compile else 'eager'}): {speeds} img/s for "
               f"{' / '.join(by_framework)}; this machine's GPU is not measured"]
        if prep.cfg.precision != "bf16":
            how.append("those rates are bf16's: precision fp32 is slower")
        if prep.ddp > 1:
            rates = {fw: Rates(r.gen_s / prep.ddp, r.critic_s / prep.ddp, 0.0, 0.0, r.setup_s, r.source)
                     for fw, r in rates.items()}
            how.append(f"DDP on {prep.ddp} GPUs counted as {prep.ddp}x one GPU's rate (its speed-up is not measured)")
        return {"wall": rates}, how
    t0 = time.perf_counter()
    try:
        rates = probe(by_framework, jobs=prep.jobs, threads=prep.threads, budget=budget, say=say)
    except BookError as e:
        return {"wall": {}}, [f"trainings: not estimated: {e}"]
    threads = prep.threads or "all"
    side = f", {prep.jobs} side by side as the book runs them" if prep.jobs > 1 else ""
    per = ", ".join(f"{fw} {r.gen_s:.2f}" + (f" ({r.critic_s:.2f} critic-only)" if r.critic_s else "")
                    for fw, r in rates["wall"].items())
    return rates, [f"trainings: rates measured on this machine by a {fmt_time(time.perf_counter() - t0)} probe "
                   f"({threads} thread{'s' * (threads != 1)} each{side}): s per step {per}"]
