"""Tiling: exact for an identity, equal to the whole image for a trained-like network."""

from __future__ import annotations

import itertools

import pytest
import torch
from conftest import blocks, trained_like_lite
from torch import nn

from brushwork import nets
from brushwork.errors import BrushworkError
from brushwork.tiling import ramp_mask, run_tiled, tile_starts


def test_tile_starts_cover_and_overlap() -> None:
    assert tile_starts(100, 128, 16) == [0]
    s = tile_starts(300, 128, 32)
    assert s[0] == 0 and s[-1] == 300 - 128
    assert all(b - a <= 128 - 32 for a, b in itertools.pairwise(s))
    with pytest.raises(ValueError, match="larger than the blend"):
        tile_starts(300, 16, 16)


def test_ramp_mask() -> None:
    m = ramp_mask(4, 5, 2, 0)[0, 0]
    assert m[0, 0] == pytest.approx(1 / 3) and m[1, 0] == pytest.approx(2 / 3) and m[2:].eq(1).all()


@pytest.mark.parametrize(("h", "w", "tile"), [(97, 131, 40), (64, 64, 64), (50, 203, 48)])
def test_identity_tiling_is_exact(h: int, w: int, tile: int) -> None:
    x = torch.rand(1, 3, h, w)
    assert torch.equal(run_tiled(lambda t: t, x, tile=tile, blend=8, context=4), x)


@pytest.mark.parametrize(("structure", "lines"), [(False, True), (True, False), (True, True)])
def test_tiled_lite_matches_whole_image(structure: bool, lines: bool) -> None:
    g = trained_like_lite(structure, lines).eval()
    with torch.no_grad():
        x = torch.rand(1, 3, 150, 190) * 2 - 1
        whole = g(x)
        tiled = run_tiled(g, x, tile=64, blend=16, context=48)
    assert (tiled - whole).abs().max() < 1e-4
    # no step at tile borders: the difference between neighbouring columns is like the whole's
    jump = (tiled[..., 1:] - tiled[..., :-1]).abs().max()
    assert jump <= (whole[..., 1:] - whole[..., :-1]).abs().max() + 1e-4


def test_instance_norm_tiles_share_whole_image_statistics() -> None:
    from brushwork.tiling import shared_norm_stats

    torch.manual_seed(0)
    g = nets.create("generator", "resnet", ngf=8, n_blocks=2).eval()
    x = torch.rand(1, 3, 96, 128) * 2 - 1
    x[..., 64:] += 0.5  # the right part is brighter: per-tile statistics would differ
    with torch.no_grad():
        whole = g(x)
        naive = run_tiled(g, x, tile=48, blend=8, context=32)
        with shared_norm_stats(g, x):
            shared = run_tiled(g, x, tile=48, blend=8, context=32)
        assert torch.equal(g(x), whole)  # the model is restored afterwards
    err_shared = (shared - whole).abs().mean()
    assert err_shared < 0.02
    assert err_shared < (naive - whole).abs().mean() / 3


def test_a_styles_vignette_spans_the_frame_when_tiled() -> None:
    """A style's vignette is applied over the whole frame: tiled, every tile gets its part of
    it (same output as untiled); the corners come out darker than the centre."""
    from brushwork.stylizer import Stylizer

    g = trained_like_lite()
    x = blocks(1, 3, size=160)
    plain = Stylizer(g, {"training": {}}, device="cpu", precision="fp32")
    st = Stylizer(g, {"training": {"vignette": [-0.5, 0.0]}}, device="cpu", precision="fp32")
    whole = st.stylize_tensor(x)
    assert torch.allclose(st.stylize_tensor(x, tile=64), whole, atol=2e-3)
    ratio = (whole + 1) / (plain.stylize_tensor(x) + 1).clamp_min(1e-3)
    assert ratio[..., 75:85, 75:85].mean() > 0.99 and ratio[..., :8, :8].mean() < 0.6
    with pytest.raises(BrushworkError, match="vignette"):
        Stylizer(g, {"training": {"vignette": [0.1]}}, device="cpu")


def _painter_with_styled_norms() -> nn.Module:
    """The pretrained painter conditioned on a style vector (its norms scale and shift)."""
    g = nets.create("generator", "painter").eval()
    g.start_prior(list(blocks(2, 3, size=128)))
    return g


def test_painter_folds_fixed_norms_into_its_convolutions() -> None:
    """With the statistics fixed, norm(conv(x)) is one convolution: folded with the whole
    image's own statistics the network gives its whole-image output (float32), tiles agree
    with it, and it is restored afterwards."""
    g = _painter_with_styled_norms()
    x = torch.rand(1, 3, 96, 128) * 2 - 1
    x[..., 64:] += 0.5
    with torch.no_grad():
        whole = g(x)
        with g.fixed_norms(x):
            assert g.n1.folded and g.res[0].norm1.folded
            folded = g(x)
            tiled = run_tiled(g, x, tile=48, blend=8, context=56)
        naive = run_tiled(g, x, tile=48, blend=8, context=56)  # each tile its own statistics
        assert torch.equal(g(x), whole) and not g.n1.folded  # weights and norms restored
    assert (folded - whole).abs().max() < 1e-4
    assert (tiled - whole).abs().max() < 1e-4
    assert (naive - whole).abs().mean() > 10 * (tiled - whole).abs().mean()


def test_painter_runs_natively_in_bf16_close_to_float32() -> None:
    """In bf16 the painter runs with its weights cast (no autocast casts per layer), within
    a few 8-bit levels of float32, whole and in tiles."""
    from brushwork.stylizer import Stylizer

    g = _painter_with_styled_norms()
    x = blocks(1, 5, size=160)
    ref = Stylizer(g, {"training": {}}, device="cpu", precision="fp32").stylize_tensor(x)
    bf16 = Stylizer(_painter_with_styled_norms(), {"training": {}}, device="cpu", precision="bf16")
    assert bf16.native and next(bf16.generator.parameters()).dtype == torch.bfloat16
    for tile in (None, 64):
        d = (bf16.stylize_tensor(x, tile=tile) - ref).abs() * 127.5
        assert d.mean() < 1.0 and d.max() < 8, (tile, float(d.mean()), float(d.max()))


def test_the_painter_context_covers_its_receptive_field() -> None:
    """A pixel changed in the input changes nothing further away than the painter's declared
    context (norm statistics fixed, as in tiles)."""
    g = _painter_with_styled_norms()
    x = blocks(1, 4, size=192)
    with torch.no_grad(), g.fixed_norms(x):
        y = g(x)
        x2 = x.clone()
        x2[..., 96, 96] += 1.0
        d = (g(x2) - y).abs().amax(1)[0]
    ys, xs = torch.nonzero(d > 0, as_tuple=True)
    reach = max(int((ys - 96).abs().max()), int((xs - 96).abs().max()))
    assert 40 < reach <= g.context(1)
