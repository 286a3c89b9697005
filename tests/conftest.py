"""Shared fixtures: tiny real images made in tmp_path, an isolated BRUSHWORK_HOME."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from brushwork import nets

# Tiny settings so real training runs in well under a second a step on 2 cores.
TINY = {
    "generator_kwargs": {"ngf": 4, "n_blocks": 1, "lut_size": 5}, "d_ndf": 8,
    "num_patches": 16, "max_side": 64, "sample_every": 2, "checkpoint_every": 2, "precision": "fp32",
    "report": False,  # test_report.py writes one
}  # fmt: skip


def make_images(
    folder: Path, n: int, seed: int, size: tuple[int, int] = (48, 40), tint: tuple[int, int, int] = (0, 0, 0)
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        base = rng.integers(0, 200, size=(size[1], size[0], 3))
        arr = np.clip(base + np.array(tint), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"img{i:02d}.png")
    return folder


@pytest.fixture(autouse=True)
def brushwork_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("BRUSHWORK_HOME", str(home))
    return home


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    return make_images(tmp_path / "photos", 4, seed=1)


@pytest.fixture
def style_dir(tmp_path: Path) -> Path:
    return make_images(tmp_path / "style", 3, seed=2, tint=(60, 20, -40))


def trained_like_lite(structure: bool = False, lines: bool = True) -> nn.Module:
    """A `lite` generator with weights moved off their near-identity start (seed 0), its
    structure stage (if on) smoothing and drawing lines well away from the identity."""
    torch.manual_seed(0)
    g = nets.create("generator", "lite", structure=structure, lines=lines)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.02)
        if g.structure is not None:
            g.structure.mix.fill_(0.4)
            if lines:
                g.structure.ink.fill_(0.3)
    return g


def blocks(n: int, seed: int, size: int = 96) -> torch.Tensor:
    """Piecewise-flat images of random colours (in [-0.6, 0.8]): edges and nothing else."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 6, 6, generator=g) * 1.4 - 0.6
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="nearest")


def lined_lite() -> nn.Module:
    """A tiny `lite` generator whose structure stage can draw lines (all at identity)."""
    return nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5, structure=True).eval()
