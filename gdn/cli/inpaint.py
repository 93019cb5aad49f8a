"""``gdn inpaint IMAGE MASK -o OUT [--checkpoint CKPT | --model DIR [--backend onnx]] [--artifact-map MAP]
[--artifact-scale K] [--adapt N]``.

No model flag: the demo's choice (:func:`gdn.demo.launch.find_checkpoint`): the book's Det model
(``runs/cpu/det/last.pt``, ``make book``) when it has been built, else the generator bundled with the package;
the output names which."""
from __future__ import annotations

import argparse
import sys

from gdn.cli import fail
from gdn.device import PRECISIONS

BACKENDS = ("torch", "onnx")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gdn inpaint",
                                description="Fill the holes of IMAGE marked by MASK with a trained gdn generator.")
    p.add_argument("image", metavar="IMAGE", help="photo to inpaint (any size; gray, RGB, RGBA; 8 or 16 bit)")
    p.add_argument("mask", metavar="MASK",
                   help="same size as IMAGE; white (>= 128 in 8-bit, luminance of colour masks) = hole")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="result, written in IMAGE's mode (.png .jpg .bmp .tif .webp; 16-bit needs .png/.tif)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", metavar="CKPT",
                        help="a gdn checkpoint (.pt), run with PyTorch (default: the book's Det model, "
                             "runs/cpu/det/last.pt, when make book has built it, else the bundled generator)")
    source.add_argument("--model", metavar="DIR", help="a folder written by gdn export, run with onnxruntime")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="torch (with --checkpoint) or onnx (with --model); the default follows the source")
    p.add_argument("--artifact-map", metavar="MAP.png", default=None,
                   help="also write the detector's valuation of the result, jet colours (det checkpoints)")
    p.add_argument("--artifact-scale", metavar="K", type=float, default=2.0,
                   help="the detector looks at a large photo at K times the generator's working side (default 2, "
                        "never above the photo's size; 1 misses more thin scratches, the Detector chapter)")
    p.add_argument("--invert-mask", action="store_true", help="black = hole in MASK")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, mps")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS, help="autocast precision (default fp32)")
    p.add_argument("--adapt", metavar="N", type=int, default=None,
                   help="per-photo learning: a copy of the model trains N steps on the photo's own pixels before "
                        "filling (torch backend; default 0, off: it did not win on the validation photos; the "
                        "recipe was tuned at 60, about 10 s on 2 cores)")
    return p


def main(argv: list[str]) -> int:
    """0; 2 with one line on stderr for bad input; 1 when the machine fails (disk full, out of GPU memory)."""
    args = parser().parse_args(argv)
    from gdn.engine.checkpoint import CheckpointError
    from gdn.engine.inference import inpaint_file
    from gdn.imageio import InputError

    backend = args.backend or ("onnx" if args.model else "torch")
    if not args.artifact_scale > 0:
        print(fail("inpaint", f"--artifact-scale {args.artifact_scale}: the factor must be positive"), file=sys.stderr)
        return 2
    if args.adapt is not None and args.adapt < 0:
        print(fail("inpaint", f"--adapt {args.adapt}: the number of steps must be 0 (off) or more"), file=sys.stderr)
        return 2
    chosen = ""
    if not (args.checkpoint or args.model or backend == "onnx"):
        from gdn.demo.launch import BUNDLED_CHECKPOINT, find_checkpoint

        found, _ = find_checkpoint()
        if found is not None:
            args.checkpoint = str(found)
            chosen = (" with the bundled warm-start generator (no detector; make book trains the Det model)"
                      if found == BUNDLED_CHECKPOINT else f" with {found}")
    try:
        if not (args.checkpoint or args.model):
            raise InputError("no model: pass --checkpoint CKPT (PyTorch) or --model DIR (an ONNX export)")
        if backend == "onnx" and not args.model:
            raise InputError(f"{args.checkpoint}: --backend onnx runs an exported model; write one with gdn export "
                             f"--checkpoint {args.checkpoint} -o DIR, then pass --model DIR")
        if backend == "torch" and args.model:
            raise InputError(f"{args.model}: --model is an ONNX export; run it with --backend onnx")
        summary = inpaint_file(args.image, args.mask, args.output, model=args.checkpoint or args.model,
                               backend=backend, artifact_map=args.artifact_map, invert_mask=args.invert_mask,
                               device=args.device, precision=args.precision, adapt=args.adapt,
                               artifact_scale=args.artifact_scale, progress=_progress_bar())
    except (ValueError, CheckpointError) as e:  # InputError, ExportError, a broken checkpoint: the user's input
        print(fail("inpaint", e), file=sys.stderr)
        return 2
    except (OSError, RuntimeError, MemoryError) as e:
        print(fail("inpaint", f"{type(e).__name__}: {e}"), file=sys.stderr)
        return 1
    print(summary + chosen)
    return 0


def _progress_bar():
    """``progress(step, total)`` for per-photo learning: a bar on stderr when it is a terminal (a log or a pipe
    gets none), closed at the last step."""
    from tqdm.auto import tqdm

    bar = None

    def progress(step: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="adapting to the photo", unit="step", file=sys.stderr, leave=False,
                       disable=None)
        bar.update(1)
        if step >= total:
            bar.close()
            bar = None

    return progress
