"""The structure stage's pixel-sized operators follow the image's size against training's:
lines keep their share of the picture on a larger photo, tiles still match the whole image,
and the Stylizer picks the scale from the style's recorded ``work_side``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import blocks, lined_lite, trained_like_lite

from brushwork import Stylizer, library, nets
from brushwork.stylefile import save_style


def photo_like(seed: int, size: int = 64) -> torch.Tensor:
    """Flat colour regions with soft (bilinear) edges, like a photo's."""
    return F.avg_pool2d(F.pad(blocks(1, seed, size), (1, 1, 1, 1), mode="replicate"), 3, 1)


def inked() -> torch.nn.Module:
    g = lined_lite()
    with torch.no_grad():
        g.structure.ink.copy_(torch.tensor([0.0, 1.0]))
        g.structure.edge_at.fill_(0.15)
        g.structure.mix.fill_(0.3)
    return g


def coverage(g: torch.nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float((g.structure(x)[1] > 0.5).float().mean())


def test_lines_keep_their_share_of_a_larger_image() -> None:
    g, x = inked(), photo_like(0)
    big = F.interpolate(x, scale_factor=4.0, mode="bilinear", align_corners=False)  # the same photo, 4x the pixels
    small_cov = coverage(g, x)
    assert small_cov > 0.05
    assert coverage(g, big) < 0.3 * small_cov  # pixel-sized lines all but vanish
    g.structure.scale = 4
    assert coverage(g, big) == pytest.approx(small_cov, rel=0.35)
    g.structure.scale = 1  # the smoothing too: the stage's output, shrunk back, is the small image's
    with torch.no_grad():
        want = g.structure(x)[0]
    g.structure.scale = 4
    with torch.no_grad():
        got = F.avg_pool2d(g.structure(big)[0], 4)
    assert (got - want).abs().mean() < 0.05


def _style(home: Path, work_side: int | None) -> Path:
    g = trained_like_lite(True, True)
    summary = {} if work_side is None else {"work_side": work_side}
    kwargs = {"structure": True, "lines": True, "detail": 0.0}
    return save_style(library.styles_dir() / f"s{work_side}", "lite", kwargs, g.state_dict(), summary, None)


def test_the_stylizer_picks_the_scale_from_the_style(brushwork_home: Path) -> None:
    st = Stylizer.load(_style(brushwork_home, 1024), device="cpu", precision="fp32")
    sizes = [(768, 1024), (1000, 1400), (1000, 1536), (4000, 6000)]
    assert [st.structure_scale(h, w) for h, w in sizes] == [1, 1, 2, 6]
    assert Stylizer.load(_style(brushwork_home, None), device="cpu").structure_scale(4000, 6000) == 1  # older styles
    plain = save_style(
        library.styles_dir() / "plain", "lite", {"structure": False}, nets.create("generator", "lite").state_dict(),
        {"work_side": 64}, None,
    )  # fmt: skip
    assert Stylizer.load(plain, device="cpu").structure_scale(4000, 6000) == 1  # nothing pixel-sized to scale


def test_the_scale_is_bounded_by_the_memory_budget(brushwork_home: Path) -> None:
    """A style learned from 64-px images on a 6000x4000 photo: scale 94 unbounded, which made
    every tile's context the whole photo (before 2026-11-29); the budget's tile bounds it."""
    path = _style(brushwork_home, 64)
    st = Stylizer.load(path, device="cpu", precision="fp32")
    cap = st.max_structure_scale()
    assert 1 < cap < 94 and st.structure_scale(4000, 6000) == cap
    assert 32 * cap <= math.sqrt(st.budget_pixels()) / 4 + 32  # the context stays a quarter of a tile
    small = Stylizer.load(path, device="cpu", precision="fp32", max_memory=2**20)
    assert small.structure_scale(4000, 6000) == small.max_structure_scale() < cap


def test_tiles_match_the_whole_image_at_a_scale(brushwork_home: Path) -> None:
    st = Stylizer.load(_style(brushwork_home, 40), device="cpu", precision="fp32")
    x = torch.rand(1, 3, 150, 163) * 2 - 1
    assert st.structure_scale(150, 163) == 4
    whole = st.stylize_tensor(x)
    tiled = st.stylize_tensor(x, tile=64)
    assert (whole - tiled).abs().max() < 1e-4
    assert st.generator.structure.scale == 1  # restored after the call
