"""``gdn bench [--device cpu|cuda] [--size 256] [--precision fp32|bf16|both] [--compile] [--json OUT] [--quick]``."""
from __future__ import annotations

import argparse
import math
import sys
from typing import Any


def _batches(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be positive, got {text!r}")
    return values


def _finite(obj: Any) -> Any:
    # JSON has no NaN/inf: write them as null
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gdn bench", description="Speed and memory of the paper's networks on this "
                                "machine: latency, throughput, a training step, and each row's share of the "
                                "measured matrix-multiply peak.")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--size", type=int, default=None, help="image size in px (default 256; 32 with --quick)")
    p.add_argument("--width", type=int, default=None, help="generator width (default 64, the paper's)")
    p.add_argument("--res-blocks", type=int, default=None, help="generator residual blocks (default 8)")
    p.add_argument("--precision", choices=("fp32", "bf16", "both"), default="both",
                   help="fp32, bf16 autocast, or both (default)")
    p.add_argument("--batches", type=_batches, default=None,
                   help="inference batch sizes, comma-separated (default 1,2,4,8)")
    p.add_argument("--train-batch", type=int, default=None,
                   help="batch of the timed training step (default 8 on cuda, 2 on cpu)")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per measurement (default 20 cuda, 5 cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch threads for the run (default: all cores)")
    p.add_argument("--channels-last", action="store_true", help="channels_last models and inputs")
    p.add_argument("--force-bf16", action="store_true", help="run bf16 even on a CPU without native bf16 (very slow)")
    p.add_argument("--json", metavar="OUT", default=None, help="also write the result (and machine info) here")
    p.add_argument("--backend", choices=("torch", "onnx"), default="torch",
                   help="onnx: also time the networks exported to ONNX with onnxruntime (CPU, fp32), "
                        "beside PyTorch (needs the onnx extra)")
    p.add_argument("--compile", action="store_true",
                   help="time torch.compile'd networks (CUDA graphs on cuda) and training step; compilation "
                        "is reported apart")
    p.add_argument("--cudnn-benchmark", action="store_true",
                   help="let cuDNN time its algorithms per convolution shape in the warm-up (CUDA)")
    p.add_argument("--loader", action="store_true",
                   help="time the training data loader alone instead (images/s of what gdn train builds)")
    p.add_argument("--profile", default="paper", help="--loader: the config profile whose loader to time (paper)")
    p.add_argument("--workers", type=int, default=None,
                   help="--loader: loader processes (default: the profile's num_workers; -1 = cores - 1)")
    p.add_argument("--seconds", type=float, default=20.0, help="--loader: seconds to time (default 20)")
    p.add_argument("--photo", nargs="?", const="", metavar="CHECKPOINT", default=None,
                   help="time gdn inpaint per photo at 64 to 2048 px instead, without and with per-photo learning "
                        "(default: the checkpoint gdn inpaint picks)")
    p.add_argument("--adapt", type=int, default=60, metavar="N",
                   help="--photo: the per-photo learning steps timed beside (default 60; 0: none)")
    p.add_argument("--quick", action="store_true", help="tiny smoke run (32 px, width 8, 1 repeat)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from pathlib import Path

    from gdn.device import resolve_device
    from gdn.engine.bench import format_bench, machine_info, run_bench
    from gdn.files import write_json

    device = resolve_device(args.device)  # fail fast, before any work
    if args.loader:
        return _loader(args, device)
    if args.photo is not None:
        return _photo(args, device)
    result = run_bench(device=device, size=args.size, width=args.width, res_blocks=args.res_blocks,
                       precision=args.precision, batches=args.batches, train_batch=args.train_batch,
                       repeats=args.repeats, quick=args.quick, channels_last=args.channels_last,
                       force_bf16=args.force_bf16, progress=not args.quiet, threads=args.threads,
                       backend=args.backend, compile=args.compile, cudnn_benchmark=args.cudnn_benchmark)
    print(format_bench(result))
    if args.json:
        result.setdefault("machine", machine_info(device))
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, _finite(result), allow_nan=False)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _loader(args: argparse.Namespace, device) -> int:
    from gdn.config import resolve
    from gdn.engine.loader import loader_throughput
    from gdn.files import write_json

    over: dict[str, Any] = {} if args.workers is None else {"num_workers": args.workers}
    if args.size:
        over["size"] = args.size
    if args.train_batch:
        over["batch_size"] = args.train_batch
    cfg = resolve(args.profile, over)  # a ConfigError is a user error: gdn.cli prints its one line, exit 2
    r = loader_throughput(cfg, seconds=args.seconds, device=device)
    print(f"gdn bench --loader: profile {args.profile}, {cfg.train_data} data, {r['size']} px, batch "
          f"{r['batch_size']}, {r['workers']} worker processes, to {device}\n"
          f"  {r['images_per_s']:.1f} images/s over {r['seconds']:.1f} s ({r['batches']} batches), after "
          f"{r['start_s']:.1f} s to the first batch")
    if args.json:
        write_json(args.json, r)
    return 0


def _photo(args: argparse.Namespace, device) -> int:
    """``gdn bench --photo``: seconds per photo of Inpainter.inpaint, and with ``--adapt N`` steps first."""
    import torch

    from gdn.engine.inference import Inpainter
    from gdn.engine.photobench import ADAPT_SIDES, SIDES, format_photo_times, photo_times
    from gdn.files import write_json

    if args.adapt < 0:
        raise ValueError(f"--adapt {args.adapt}: the number of steps must be 0 (off) or more")
    if args.threads:
        torch.set_num_threads(args.threads)
    path = args.photo
    if not path:
        from gdn.demo.launch import find_checkpoint

        found, looked = find_checkpoint()
        if found is None:
            raise FileNotFoundError(f"no checkpoint found (looked in {', '.join(looked)}): pass --photo CKPT")
        path = str(found)
    inp = Inpainter.from_checkpoint(path, device=device, adapt=0)
    adapted = Inpainter.from_checkpoint(path, device=device, adapt=args.adapt) if args.adapt else None
    say = None if args.quiet else (lambda m: print(f"gdn bench --photo: {m}", file=sys.stderr, flush=True))
    sides = (64, 256) if args.quick else SIDES
    rows = photo_times(inp, sides, adapted=adapted, adapt_sides=ADAPT_SIDES, progress=say)
    print(f"gdn bench --photo: {path} on {device}, torch threads {torch.get_num_threads()}")
    print(format_photo_times(rows, args.adapt))
    if args.json:
        write_json(args.json, _finite({"checkpoint": path, "adapt": args.adapt, "rows": rows}), allow_nan=False)
    return 0
