"""The package's shape: modules short enough to read in one sitting, all argument parsing in the CLI layer,
imports that run one way, and a wheel that works outside the checkout."""
import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gdn"
MAX_LINES = 450  # "about 400": the longest module, the demo widget, is one class


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = f.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every gdn module ``name`` imports, at module level or inside a function."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def test_no_module_is_longer_than_about_400_lines():
    long = {n: len(p.read_text().splitlines()) for n, p in _modules().items()}
    assert max(long.values()) <= MAX_LINES, sorted(long.items(), key=lambda kv: -kv[1])[:3]


def _imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_cli_parses_arguments():
    users = [n for n, p in _modules().items() if "argparse" in _imported_names(p)]
    assert users and all(n.startswith("gdn.cli") for n in users), users


def test_imports_run_one_way():
    modules = _modules()
    graph = {n: _imports(n, p, modules) for n, p in modules.items()}
    assert "gdn.engine.train" in graph["gdn.cli.train"] and "gdn.networks" in graph["gdn.frameworks"]  # sanity
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(n, path):
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
            if m not in state:
                visit(m, path + [m])
        state[n] = 2
    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    # the layers: the method and the primitives never reach up into the engine, the book or the faces
    lower = [n for n in graph if not n.startswith(("gdn.engine", "gdn.book", "gdn.demo", "gdn.cli")) and n != "gdn"]
    up = {n: sorted(m for m in graph[n] if m.startswith(("gdn.engine", "gdn.book", "gdn.demo", "gdn.cli")))
          for n in lower}
    assert {n: v for n, v in up.items() if v} == {}


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    src, dist, target, work = tmp_path / "src", tmp_path / "dist", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):  # a copy: building writes build/ and *.egg-info beside the sources
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "gdn", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)], check=True,
                   cwd=tmp_path, capture_output=True)
    (wheel,) = dist.glob("gdn-*.whl")
    subprocess.run(pip + ["install", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target), "GDN_FIGURES": str(work / "figures")}
    gdn = [sys.executable, str(target / "bin" / "gdn")]

    def run(*args):
        res = subprocess.run(gdn + list(args), cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-2000:]
        return res.stdout

    where = subprocess.run([sys.executable, "-c", "import gdn, gdn.demo.launch as l; print(gdn.__file__); "
                            "print(l.NOTEBOOK.is_file(), l.BUNDLED_CHECKPOINT.is_file())"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert where == [str(target / "gdn" / "__init__.py"), "True", "True"]  # the installed copy, with its data
    run("train", "--profile", "smoke", "--out", "runs/smoke", "--quiet", "steps=2", "builtin_train=8")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(work / "photo.png")
    hole = np.zeros((40, 56), np.uint8)
    hole[10:25, 20:40] = 255
    Image.fromarray(hole).save(work / "mask.png")
    assert "wrote out.png" in run("inpaint", "photo.png", "mask.png", "-o", "out.png",
                                  "--checkpoint", "runs/smoke/last.pt", "--device", "cpu")
    out = np.asarray(Image.open(work / "out.png"))
    assert np.array_equal(out[hole == 0], np.asarray(Image.open(work / "photo.png"))[hole == 0])
    assert "--checkpoint" in run("demo", "--help")


def test_every_import_of_a_gdn_name_resolves():
    # imports inside functions run late (the first call), so a name moved to another module is caught here
    import importlib
    missing = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("gdn"):
                module = importlib.import_module(node.module)
                missing += [f"{name}: {node.module}.{a.name}" for a in node.names if not hasattr(module, a.name)
                            and f"{node.module}.{a.name}" not in _modules()]
    assert missing == []
