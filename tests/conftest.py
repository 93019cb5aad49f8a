from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from gdn.engine.checkpoint import save_checkpoint
from gdn.config import resolve
from gdn.frameworks import Framework


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def batch():
    """A fixed batch: smooth random images and rectangular holes covering about a quarter of each image."""
    g = torch.Generator().manual_seed(1)
    image = torch.nn.functional.interpolate(torch.rand(2, 3, 8, 8, generator=g), size=32, mode="bilinear")
    mask = torch.zeros(2, 1, 32, 32)
    mask[0, :, 4:20, 8:24] = 1
    mask[1, :, 12:28, 2:14] = 1
    return {"image": image, "mask": mask}


@pytest.fixture(scope="session")
def ckpts(tmp_path_factory):
    """Tiny checkpoints (width 8, 1 residual block, trained scale 64) of each framework, plus broken ones."""
    d = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)  # the same weights whichever test asks first
    paths = {}
    for fw in ("det", "weight", "adv"):
        cfg = resolve("smoke", {"width": "8", "res_blocks": "1", "framework": fw})
        paths[fw] = d / f"{fw}.pt"
        save_checkpoint(paths[fw], Framework(cfg).state(), cfg, step=0)
    small = resolve("smoke", {"width": "8", "res_blocks": "1"})
    wide = resolve("smoke", {"width": "16", "res_blocks": "1"})
    paths["wrong"] = d / "wrong.pt"  # width-16 weights under a width-8 config: another architecture
    small, wide = (replace(c, framework="weight") for c in (small, wide))
    save_checkpoint(paths["wrong"], Framework(wide).state(), small, step=0)
    data = paths["det"].read_bytes()
    paths["trunc"] = d / "trunc.pt"
    paths["trunc"].write_bytes(data[: len(data) // 2])
    return paths


# -- headless Chromium (the demo's and the book's browser tests) ---------------------------------------------
PLAYWRIGHT_VERSION = "1.65.1"
BROWSER_INSTALL = ("apt-get update && apt-get install -y chromium nodejs npm && "
                   f"npm install --prefix .venv/node --no-audit --no-fund playwright-core@{PLAYWRIGHT_VERSION}")


def _chromium():
    import os
    import shutil

    for c in (os.environ.get("GDN_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
              "/usr/bin/chromium"):
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    return None


def _node_modules():
    import os

    root = Path(__file__).resolve().parents[1]
    for d in (os.environ.get("GDN_NODE_MODULES"), root / ".venv" / "node" / "node_modules", root / "node_modules"):
        if d and (Path(d) / "playwright-core" / "package.json").is_file():
            return Path(d)
    return None


@pytest.fixture(scope="session")
def browser_tools():
    """(chromium, node, node_modules), or a skip naming what is missing and how to install it."""
    import shutil

    chromium, node, modules = _chromium(), shutil.which("node"), _node_modules()
    missing = [name for name, ok in (("chromium", chromium), ("node", node), ("playwright-core", modules)) if not ok]
    if missing:
        pytest.skip(f"headless browser test needs {', '.join(missing)}; install with: {BROWSER_INSTALL}")
    return chromium, node, modules
