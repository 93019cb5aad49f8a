import numpy as np
import pytest
import torch


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
