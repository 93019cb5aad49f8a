"""The training loop: progress bar, CSV log, sample grids, atomic checkpoints, exact resume, and DDP.

    gdn train --profile cpu --out runs/det [--resume] [key=value ...]
    torchrun --nproc_per_node 2 -m gdn.cli train --profile smoke --out runs/ddp   # same command line

Resume is exact: the networks, both optimisers, the step and the data order come back, so a run killed and
resumed ends with the same weights as one that never stopped (same device, same deterministic settings).
The data order depends only on (seed, epoch) and each sample's mask only on (seed, epoch, index).
"""
from __future__ import annotations

import csv
import math
import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist

from gdn.config import Config, ConfigError, from_dict
from gdn.device import autocast, resolve_device
from gdn.engine.checkpoint import load_checkpoint, save_checkpoint
from gdn.engine.loader import VAL_SEED, EpochSampler, build_train_set, build_val_images, run_loader
from gdn.engine.schedule import schedule, total_steps
from gdn.files import atomic_write, write_json
from gdn.frameworks import Framework
from gdn.mask_strokes import scratch_masks

__all__ = ["train"]

LOG_FIELDS = ["step", "epoch", "loss_g", "loss_d", "l1", "adv_g", "val_psnr", "val_auroc", "val_bias_r", "val_bias_g",
              "val_bias_b", "shift_psnr", "shift_auroc", "shift_bias", "images_per_s", "elapsed_s"]


class _Distributed:
    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1

    def setup(self, device: torch.device) -> torch.device:
        if not self.enabled:
            return device
        if device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return device

    def wrap(self, module: torch.nn.Module | None, device: torch.device):
        if module is None or not self.enabled:
            return module
        ids = [device.index] if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def _check_resume_config(saved: dict[str, Any], cfg: Config, out: Path) -> None:
    # Everything but the run length must match, or the resumed run is a different experiment.
    # (compiling changes the speed, not the maths: tests/test_frameworks.py)
    free = {"steps", "epochs", "log_every", "sample_every", "save_every", "keep_every", "eval_every",
            "num_workers", "device", "compile", "compile_mode", "cudnn_benchmark"}
    diff = {k: (saved[k], v) for k, v in cfg.to_dict().items() if k not in free and saved.get(k) != v}
    if diff:
        lines = ", ".join(f"{k}: saved {a!r} vs now {b!r}" for k, (a, b) in diff.items())
        raise ValueError(f"{out / 'last.pt'}: cannot resume with a different config ({lines})")


def _append_log(path: Path, rows: list[dict[str, Any]]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LOG_FIELDS, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerows(rows)


def _truncate_log(path: Path, step: int) -> None:
    """Drop log rows written after the checkpoint we resume from (they will be written again)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    text_rows = [LOG_FIELDS] + [[r.get(k, "") for k in LOG_FIELDS] for r in rows]

    def write(f):
        f.write("\n".join(",".join(map(str, r)) for r in text_rows).encode() + b"\n")
    atomic_write(path, write)


def _val_batch(cfg: Config, device: torch.device) -> dict[str, torch.Tensor]:
    """The fixed validation batch: validation images (never a test photo) paired with a mask bank (the same pairs
    at every evaluation and for every seed: ``VAL_SEED``), then the same pairs colour-shifted
    (``gdn.data.SHIFTS``); ``shifted`` marks those."""
    from gdn.data import SHIFTS, colour_shift
    from gdn.masks import mask_bank

    images = build_val_images(cfg)
    masks = mask_bank(max(1, cfg.eval_per_bin), cfg.size, seed=VAL_SEED)
    n = len(masks)
    image = torch.stack([images[k % len(images)] for k in range(n)])  # (N,3,H,W)
    mask = torch.from_numpy(np.stack(masks)).float()[:, None]  # (N,1,H,W), 1 = hole
    image = torch.cat([image] + [colour_shift(image, kind) for kind in SHIFTS])  # (N*(1+len(SHIFTS)),3,H,W)
    shifted = torch.arange(len(image)) >= n
    return {"image": image.to(device), "mask": mask.repeat(1 + len(SHIFTS), 1, 1, 1).to(device), "shifted": shifted}


@torch.no_grad()
def _validate(fw: Framework, val: dict[str, torch.Tensor], batch: int) -> dict[str, float]:
    """On the validation batch: the composites' mean PSNR, the fill's mean signed error in the holes per channel
    (8-bit levels; a colour cast), and for Det the mean per-image AUROC with which the detector's map of those
    composites finds the holes (0.5: chance), so the log shows the min-max game; ``val_*`` on the photos,
    ``shift_*`` on their colour-shifted copies (``shift_bias``: the largest channel's bias in absolute value)."""
    from gdn.evaluation.scores import auroc, composite, psnr, to_uint8

    fw.eval()
    scores, aurocs, errors = [], [], []
    for i in range(0, len(val["image"]), batch):
        image, mask = val["image"][i:i + batch], val["mask"][i:i + batch]
        with autocast(image.device, fw.cfg.precision):
            pred = fw.generator(image, mask).float()
        comp8 = to_uint8(composite(pred, image, mask).cpu())  # (b,3,H,W) uint8, what a user gets
        truth8 = to_uint8(image.cpu())
        scores += [float(s) for s in np.atleast_1d(psnr(comp8, truth8))]
        hole = mask.cpu()[:, 0] > 0.5  # (b,H,W)
        diff = (comp8.float() - truth8.float()).permute(0, 2, 3, 1)  # (b,H,W,3) levels
        errors += [(d[h].sum(0), h.sum()) for d, h in zip(diff, hole)]
        if fw.cfg.framework == "det":
            with autocast(image.device, fw.cfg.precision):
                v = fw.critic(comp8.to(image.device).float() / 255).float()  # (b,1,H,W) valuation V
            aurocs += [auroc(a, m > 0.5) for a, m in zip(v.cpu().numpy(), mask.cpu().numpy())]
    fw.train()
    out = {}
    for prefix, sel in (("val", ~val["shifted"]), ("shift", val["shifted"])):
        idx = np.flatnonzero(sel.numpy())
        finite = [scores[k] for k in idx if math.isfinite(scores[k])]
        out[f"{prefix}_psnr"] = float(np.mean(finite)) if finite else float("inf")
        total = sum(errors[k][0] for k in idx)
        bias = (total / max(int(sum(errors[k][1] for k in idx)), 1)).numpy()  # (3,) levels
        if prefix == "val":
            out.update({"val_bias_r": float(bias[0]), "val_bias_g": float(bias[1]), "val_bias_b": float(bias[2])})
        else:
            out["shift_bias"] = float(np.abs(bias).max())
        if aurocs:
            out[f"{prefix}_auroc"] = float(np.nanmean([aurocs[k] for k in idx]))
    return out


def init_generator(fw: Framework, cfg: Config) -> None:
    """Start the generator from ``cfg.init`` (a warm start): a checkpoint path, or ``gdn:NAME`` for one that
    ships with the package (``gdn/weights/NAME.pt``). Its network shape must be this config's."""
    from gdn.engine.checkpoint import CheckpointError, resolve_init

    path = resolve_init(cfg.init)
    ckpt = load_checkpoint(path)
    saved = ckpt["config"]
    shape = ("width", "res_blocks", "norm", "colour_anchor")  # the fields build_generator reads
    if any(getattr(saved, k) != getattr(cfg, k) for k in shape):
        raise CheckpointError(f"{path}: init generator has " + ", ".join(f"{k}={getattr(saved, k)!r}" for k in shape)
                              + "; this config " + ", ".join(f"{k}={getattr(cfg, k)!r}" for k in shape))
    fw.generator.load_state_dict(ckpt["generator"])  # before DDP wraps it


def cooldown_critic(cfg: Config) -> dict[str, torch.Tensor]:
    """The detector weights of ``cfg.cooldown_init`` (not in the paper): a checkpoint path, or ``gdn:NAME``
    (``gdn/weights/NAME.pt``), holding a Det detector of this config's ``critic_width``: a Det run's, or one
    :func:`gdn.engine.checkpoint.pack_critic` shipped (``critic_config``); checked in a new detector, so a
    bad file fails before the first step, not at the cool-down. Training gives them to the run's detector as
    the cool-down begins (:meth:`gdn.frameworks.Framework.restart_critic`): the generator only ever meets the
    detector trained alongside it, and the cool-down re-fits this one to the final generator."""
    from gdn.engine.checkpoint import CheckpointError, resolve_init
    from gdn.frameworks import build_critic

    path = resolve_init(cfg.cooldown_init)
    ckpt = load_checkpoint(path)
    try:
        saved = from_dict(ckpt["critic_config"]) if "critic_config" in ckpt else ckpt["config"]
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{path}: its detector's config is not valid here ({e})") from None
    if saved.framework != "det" or "critic" not in ckpt:
        raise CheckpointError(f"{path}: holds no Det detector (framework={saved.framework!r}) for cooldown_init")
    if saved.critic_width != cfg.critic_width:
        raise CheckpointError(f"{path}: its detector has critic_width={saved.critic_width}; this config "
                              f"critic_width={cfg.critic_width}")
    try:
        build_critic("det", cfg.critic_width).load_state_dict(ckpt["critic"])
    except RuntimeError as e:
        raise CheckpointError(f"{path}: its detector does not fit ({str(e).strip().splitlines()[0]})") from None
    return ckpt["critic"]


@torch.no_grad()
def _save_samples(fw: Framework, val: dict[str, torch.Tensor], path: Path, k: int = 4) -> None:
    """A grid, one row per example: masked input | composite | ground truth | detector map (Det only)."""
    from PIL import Image

    from gdn.evaluation.scores import composite
    from gdn.networks import corrupt

    fw.eval()
    last = int((~val["shifted"]).sum())  # the photos before their colour-shifted copies
    image, mask = val["image"][last - k:last], val["mask"][last - k:last]  # the largest-hole bin is last in the bank
    with autocast(image.device, fw.cfg.precision):
        pred = fw.generator(image, mask).float()
        cols = [corrupt(image, mask), composite(pred, image, mask), image]
        if fw.cfg.framework == "det":
            cols.append(fw.critic(pred).float().expand(-1, 3, -1, -1))
    fw.train()
    grid = torch.cat([torch.cat(list(c), dim=1) for c in cols], dim=2)  # (3, k*H, ncols*W)
    array = (grid.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
    atomic_write(path, lambda f: Image.fromarray(array).save(f, format="PNG"))


def train(cfg: Config, out: str | os.PathLike, *, resume: bool = False, progress: bool = True,
          stop_after: int | None = None, on_step: Callable[[int, int], None] | None = None) -> Path:
    """Train ``cfg.framework`` and return the path of ``out/last.pt``.

    ``resume`` continues from ``out/last.pt``; ``stop_after`` ends this call after that many steps;
    ``on_step(step, total)`` is called after every step (e.g. to drive a widget's progress bar).
    """
    out = Path(out)
    ddp = _Distributed()
    device = ddp.setup(resolve_device(cfg.device))
    if cfg.batch_size % ddp.world:
        raise ValueError(f"batch_size {cfg.batch_size} is not divisible by the {ddp.world} processes")
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = cfg.cudnn_benchmark and not cfg.deterministic
    if ddp.main:
        out.mkdir(parents=True, exist_ok=True)
    ddp.barrier()
    last = out / "last.pt"

    torch.manual_seed(cfg.seed)  # the same initial weights on every rank and every run
    # on the device before any state is loaded: Optimizer.load_state_dict then puts each state tensor where
    # its parameter is (Adam's "step" too, where the fused kernel needs it there)
    fw = Framework(cfg).to(device)
    step = 0
    if resume:
        if not last.exists():
            raise FileNotFoundError(f"{last}: nothing to resume (no checkpoint in {out})")
        ckpt = load_checkpoint(last)
        _check_resume_config(ckpt["config"].to_dict(), cfg, out)
        fw.load_state(ckpt)
        step = ckpt["step"]
        del ckpt
    else:
        if ddp.main and last.exists():
            raise FileExistsError(f"{last} exists: pass --resume to continue that run, or choose another --out")
        if cfg.init:
            init_generator(fw, cfg)
    if cfg.channels_last:
        fw.to(memory_format=torch.channels_last)
    fw.generator = ddp.wrap(fw.generator, device)
    fw.critic = ddp.wrap(fw.critic, device)
    if cfg.compile:
        fw.compile_step(cfg.compile_mode)

    restart = cooldown_critic(cfg) if cfg.cooldown_init and cfg.framework == "det" else None
    train_set = build_train_set(cfg)
    per_rank = cfg.batch_size // ddp.world
    sampler = EpochSampler(len(train_set), per_rank, cfg.seed, ddp.rank, ddp.world)
    steps = total_steps(cfg, sampler.batches_per_epoch)
    if ddp.main:
        write_json(out / "config.json", cfg.to_dict())
        if resume:
            _truncate_log(out / "log.csv", step)
        (out / "samples").mkdir(exist_ok=True)
    val = _val_batch(cfg, device) if ddp.main else None

    interrupted = {"flag": False}

    def on_signal(signum, frame):  # finish the step, save, then stop
        interrupted["flag"] = True
    old_handler = signal.signal(signal.SIGTERM, on_signal) if ddp.main else None

    def save(path: Path) -> None:
        if ddp.main:
            save_checkpoint(path, fw.state(), cfg, step, framework=cfg.framework,
                            rng={"torch": torch.get_rng_state()})

    from tqdm.auto import tqdm
    bar = tqdm(total=steps, initial=step, disable=not (progress and ddp.main), unit="step",
               desc=f"train {cfg.framework}", dynamic_ncols=True)
    rows: list[dict[str, Any]] = []
    pending: list[dict[str, torch.Tensor]] = []
    start_time, start_step, this_call = time.perf_counter(), step, 0
    fw.train()
    # one loader for the whole run: its workers start once (gdn.engine.loader)
    batches = iter(run_loader(cfg, train_set, sampler, step, device, per_rank)) if step < steps else None
    try:
        while step < steps and not interrupted["flag"]:
            epoch = step // sampler.batches_per_epoch
            batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
            if cfg.channels_last:
                batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
            train_generator, lr_scale = schedule(step, cfg, steps)  # from the step alone: so after a resume too
            if restart is not None and step == steps - cfg.critic_cooldown:
                fw.restart_critic(restart)  # the first cool-down step, also when a run resumes there
            if cfg.critic_thin and not train_generator:  # seeded by the step: a resumed run draws the same
                batch["mask"] = scratch_masks(batch["mask"], cfg.critic_thin,
                                              np.random.default_rng((cfg.seed, step, ddp.rank)))
            fw.set_lr_scale(lr_scale)
            pending.append(fw.step(batch, train_generator=train_generator))
            step += 1
            this_call += 1
            bar.update(1)
            if on_step is not None:
                on_step(step, steps)
            if ddp.main and (step % cfg.log_every == 0 or step == steps):
                # the only host sync of the loop: average the losses since the last row
                mean = {k: torch.stack([p[k] for p in pending]).mean().item() for k in pending[0]}
                pending.clear()
                elapsed = time.perf_counter() - start_time
                row = {"step": step, "epoch": epoch, **mean, "elapsed_s": round(elapsed, 2),
                       "images_per_s": round((step - start_step) * cfg.batch_size / max(elapsed, 1e-9), 2)}
                if cfg.eval_every and step % cfg.eval_every == 0:
                    row.update({k: round(v, 4) for k, v in _validate(fw, val, cfg.batch_size).items()})
                rows.append(row)
                _append_log(out / "log.csv", rows)
                rows.clear()
                bar.set_postfix({k: f"{v:.4f}" for k, v in mean.items() if k.startswith("loss")} |
                                {"img/s": row["images_per_s"]})
            elif not ddp.main:
                pending.clear()
            if ddp.main and step % cfg.sample_every == 0:
                _save_samples(fw, val, out / "samples" / f"step_{step:07d}.png")
            if step % cfg.save_every == 0 or step == steps:
                save(last)
            if step % cfg.keep_every == 0:
                save(out / f"step_{step:07d}.pt")
            if stop_after is not None and this_call >= stop_after:
                if step % cfg.save_every and step != steps:  # a stop the run resumes from
                    save(last)
                break
    except KeyboardInterrupt:
        interrupted["flag"] = True
    finally:
        batches = None  # stops the loader's workers
        bar.close()
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
    if interrupted["flag"]:
        save(last)
        if ddp.main:
            print(f"interrupted at step {step}; resume with --resume --out {out}")
    elif step >= steps and ddp.main:
        summary = {"step": step, "framework": cfg.framework, **_validate(fw, val, cfg.batch_size),
                   "train_seconds": round(time.perf_counter() - start_time, 2)}
        write_json(out / "summary.json", summary)
    ddp.barrier()
    ddp.close()
    return last
