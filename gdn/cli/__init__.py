"""The ``gdn`` command: train, evaluate, inpaint, export, bench, book, demo, data.

All argument parsing of the package lives here, one module per command (``gdn/cli/<command>.py``, each with a
``main(argv)``); the modules parse, call the library and print. Every failure a user can cause (bad paths, bad
config keys, bad images, broken checkpoints) ends with one line on stderr naming the file or key and the
problem, and a non-zero exit; tracebacks are for bugs.
"""
from __future__ import annotations

import importlib
import sys

__all__ = ["main", "COMMANDS"]

COMMANDS = ("train", "evaluate", "inpaint", "export", "bench", "book", "demo", "data")
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, FileExistsError, RuntimeError,
                                                 OSError)


def fail(command: str, error: BaseException) -> str:
    """The one line a user error prints: ``gdn COMMAND: error: <first line of the message>``."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"gdn {command}: error: {message}"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        unknown = bool(argv) and argv[0] not in ("-h", "--help")
        print("usage: gdn {" + ",".join(COMMANDS) + "} [options]   (gdn COMMAND --help for each)",
              file=sys.stderr if unknown else sys.stdout)
        if unknown:
            print(f"gdn: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    command = importlib.import_module(f"gdn.cli.{argv[0]}")  # lazily: `gdn train` never imports jupyter-book
    try:
        return command.main(argv[1:]) or 0
    except KeyboardInterrupt:
        print("gdn: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as e:
        print(fail(argv[0], e), file=sys.stderr)
        return 2
