"""Files: the one writer that never leaves a half-written file, and the one lister of image and mask sets."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

__all__ = ["atomic_write", "write_json", "list_files"]


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, data: Any, **dumps) -> None:
    """``data`` as indented JSON at ``path``, atomically (``dumps`` go to ``json.dumps``)."""
    text = json.dumps(data, **{"indent": 2, **dumps}) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def list_files(source, exts: Sequence[str], *, what: str = "image") -> list[Path]:
    """Files of a folder (recursive, sorted by relative path), a text list, a python list or one file.

    Text lists hold one path per line (blank lines and ``#`` comments skipped); relative paths are relative
    to the list file's folder, so a list travels with its data. Hidden files and folders (``.name``, e.g.
    macOS ``._x.png`` forks) are ignored in folders.
    """
    exts = tuple(e.lower() for e in exts)
    if isinstance(source, (list, tuple)):
        files = [Path(p) for p in source]
        if not files:
            raise ValueError(f"empty list of {what} files")
        return files
    root = Path(source)
    if root.is_dir():
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [n for n in dirnames if not n.startswith(".")]
            files += [Path(dirpath, n) for n in filenames
                      if not n.startswith(".") and os.path.splitext(n)[1].lower() in exts]
        if not files:
            raise ValueError(f"{root}: no {what} files ({' '.join(exts)}) found in this folder or below")
        # sort on the relative posix path: the same order on every OS and file system
        return sorted(files, key=lambda p: p.relative_to(root).as_posix())
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such file or folder")
    if root.suffix.lower() in exts:
        return [root]
    try:
        lines = root.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError) as e:
        raise ValueError(f"{root}: not a folder, {what} file or text list of paths ({e})") from None
    files = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            p = Path(line).expanduser()
            files.append(p if p.is_absolute() else root.parent / p)
    if not files:
        raise ValueError(f"{root}: the list of {what} files is empty")
    return files
