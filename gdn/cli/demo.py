"""``gdn demo [--port 8866] [--checkpoint PATH] [--no-browser]``: serve the demo notebook with Voila."""
from __future__ import annotations

import argparse


def main(argv: list[str]) -> int:
    from gdn.demo.launch import DEFAULT_CHECKPOINT, serve

    p = argparse.ArgumentParser(prog="gdn demo", description="Serve the interactive inpainting demo with Voila "
                                "on localhost (Ctrl-C stops it).")
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    p.add_argument("--checkpoint", default=None,
                   help=f"checkpoint to load (default: {DEFAULT_CHECKPOINT}, then the newest runs/*/det/last.pt, "
                        f"then the bundled warm start)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for Voila to start (default 120)")
    args = p.parse_args(argv)
    return serve(args.port, args.checkpoint, open_browser=not args.no_browser, timeout=args.timeout)
