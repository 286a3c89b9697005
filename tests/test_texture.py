"""The frame-locked texture: a screen's frequencies measured from the sets, position
features that tile exactly, and lite's screen stage (texture only, same tiled or whole)."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import blocks

from brushwork import nets
from brushwork.errors import BrushworkError
from brushwork.look.grain import fit_grain, grain_field, noise_floor
from brushwork.look.screen import fit_screen, position_features
from brushwork.schema import validate_meta


def _smooth_images(n: int, seed: int, size: int = 256) -> list[torch.Tensor]:
    """Soft random images (no screen of their own)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 12, 12, generator=g) * 1.6 - 0.8
    x = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return list(x.clamp(-1, 1))


def _hatched(x: torch.Tensor, fy: float, fx: float) -> torch.Tensor:
    """Darken ``x`` along parallel strokes at frequency (fy, fx): a hatching."""
    h, w = x.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    stroke = (torch.remainder(fy * ys + fx * xs, 1.0) < 0.35).float()
    return (x + 1) * (1 - 0.4 * stroke) - 1


def test_fit_screen_finds_a_hatchings_frequency() -> None:
    content = _smooth_images(4, 0)
    fy, fx = 0.13, -0.07  # a period of 6.8 px at an angle
    style = [_hatched(t, fy, fx) for t in _smooth_images(4, 1)]
    found = fit_screen(content, style)
    assert len(found) == 3
    # the fundamental (or its conjugate) within one frequency bin (1/128)
    assert min(math.hypot(a - s * fy, b - s * fx) for a, b in found for s in (1, -1)) < 1.5 / 128
    assert fit_screen([torch.zeros(3, 64, 64)], style) == []  # too small to measure: no screen


def test_position_features_tile_exactly() -> None:
    """A window's features equal that window of the whole frame's (any origin, any scale)."""
    f = torch.tensor([[0.13, -0.07], [0.2, 0.3]])
    for scale in (1, 3):
        whole = position_features(f, 300, 500, scale=scale)
        part = position_features(f, 40, 70, top=211, left=389, scale=scale)
        assert part.shape == (4, 40, 70)
        assert torch.allclose(part, whole[:, 211:251, 389:459], atol=1e-5)
    ys, xs = torch.meshgrid(torch.arange(300.0), torch.arange(500.0), indexing="ij")
    angle = 2 * math.pi * (0.2 / 3 * ys + 0.3 / 3 * xs)
    assert torch.allclose(whole[1], angle.cos(), atol=1e-4) and torch.allclose(whole[3], angle.sin(), atol=1e-4)


def test_lite_screen_changes_texture_only_and_tiles() -> None:
    """A trained-like screen adds a pattern whose local mean is ~0 (the colour stays), and a
    Stylizer gives the same pattern tiled as whole (each tile at its place in the frame)."""
    from brushwork.stylizer import Stylizer

    torch.manual_seed(0)
    g = nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5, screen=[0.2, 0.05, -0.05, 0.2]).eval()
    assert g.has_texture and g.scale == 1
    with torch.no_grad():
        g.screen.fc2.weight.normal_(std=0.3)
        x = blocks(1, 3, size=160)
        y = g(x)
        t = g.texture(y)
    diff = t - y
    assert float(diff.abs().mean()) > 0.02  # a visible pattern...
    box = torch.nn.functional.avg_pool2d(diff, 10)  # two periods of the longest wave
    assert float(box.abs().mean()) < 0.2 * float(diff.abs().mean())  # ...whose local mean is small
    st = Stylizer(g, {"training": {}}, device="cpu", precision="fp32")
    whole = st.stylize_tensor(x)
    assert torch.allclose(whole, t.clamp(-1, 1), atol=1e-5)
    assert torch.allclose(st.stylize_tensor(x, tile=64), whole, atol=2e-3)


def test_a_style_file_checks_its_screen() -> None:
    meta = {"format": "brushwork-style", "format_version": 1,
            "generator": {"name": "lite", "kwargs": {"screen": [0.1, 0.2]}}}  # fmt: skip
    validate_meta("style.json", meta)
    for bad in ([0.1], [0.1, 3.0], [float("nan"), 0.1], ["a", "b"]):
        meta["generator"]["kwargs"]["screen"] = bad
        with pytest.raises(BrushworkError, match="screen"):
            validate_meta("style.json", meta)
    meta["generator"]["kwargs"] = {"ngf": [1, 2]}
    with pytest.raises(BrushworkError, match="ngf"):
        validate_meta("style.json", meta)


def test_screen_fit_learns_the_style_images_texture() -> None:
    """Fitted on hatched images, the screen draws strokes on a new picture's low band at the
    hatching's frequency; fitted on images without one, it draws (almost) nothing."""
    fy, fx = 0.13, -0.07
    content = _smooth_images(3, 0)
    hatched = [_hatched(t, fy, fx) for t in _smooth_images(3, 1)]
    plain = _smooth_images(3, 2)
    probe = _hatched(_smooth_images(1, 3)[0], fy, fx)[None]

    def drawn(style: list[torch.Tensor]) -> float:
        freqs = [f for pair in fit_screen(content, style) for f in pair]
        g = nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5, screen=freqs)
        g.screen.fit(style, steps=120, seed=0)
        with torch.no_grad():
            low = torch.nn.functional.avg_pool2d(probe, 7, stride=1, padding=3, count_include_pad=False)
            return float((g.texture(low) - low).std())

    truth = float(
        (probe - torch.nn.functional.avg_pool2d(probe, 7, stride=1, padding=3, count_include_pad=False)).std()
    )
    with_screen, without = drawn(hatched), drawn(plain)
    assert with_screen > 0.3 * truth
    assert without < 0.25 * with_screen


def test_grain_field_is_fixed_to_the_frame() -> None:
    """Unit white noise; a window of the frame gets what the whole frame has there; at scale k
    the grains are k times larger."""
    whole = grain_field(300, 280)
    assert abs(float(whole.mean())) < 0.02 and abs(float(whole.std()) - 1.0) < 0.02
    assert torch.equal(grain_field(64, 90, top=130, left=47), whole[130:194, 47:137])
    # neighbours are uncorrelated (white), and so are pixels one tile side apart
    assert abs(float((whole[:, 1:] * whole[:, :-1]).mean())) < 0.02
    assert abs(float((whole[:, 251:] * whole[:, :-251]).mean())) < 0.6
    # at scale k the grains are k times larger, smooth (no squares), still of unit spread
    coarse = grain_field(400, 400, scale=4)
    assert abs(float(coarse.std()) - 1.0) < 0.05
    assert float((coarse[:, 1:] * coarse[:, :-1]).mean()) > 0.5  # neighbours alike: larger grains
    assert torch.allclose(grain_field(37, 51, top=9, left=130, scale=4), coarse[9:46, 130:181], atol=1e-6)


def test_fit_grain_measures_the_style_sets_grain() -> None:
    """Grain added to soft images is measured back from the sets; flat or clean styles get none."""
    clean = _smooth_images(4, seed=3)
    g = torch.Generator().manual_seed(9)
    grainy = [(t + 0.12 * torch.randn(1, *t.shape[1:], generator=g)).clamp(-1, 1) for t in _smooth_images(4, seed=4)]
    assert noise_floor(clean) < 0.01 < 0.08 < noise_floor(grainy)
    assert abs(fit_grain(clean, grainy) - 0.12) < 0.015
    assert fit_grain(clean, _smooth_images(4, seed=5)) == 0.0
    assert fit_grain(grainy, clean) == 0.0  # outputs already noisier than the style: nothing added


def test_lite_grain_is_fitted_held_and_tiles() -> None:
    """lite's grain stage: fitted from the sets at its colour start, not trained, saved in the
    state, and a Stylizer gives the same grain tiled as whole."""
    from brushwork.stylizer import Stylizer

    torch.manual_seed(0)
    g = nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5, grain=True).eval()
    assert g.has_texture and "grain.amount" in g.state_dict()
    gen = torch.Generator().manual_seed(2)
    style = [(t + 0.1 * torch.randn(1, *t.shape[1:], generator=gen)).clamp(-1, 1) for t in _smooth_images(3, 6)]
    assert g.start_texture(style, content_images=_smooth_images(3, 7))
    assert 0.08 < float(g.grain.amount) < 0.12
    base, fast = g.param_groups()
    assert all(p is not g.grain.amount for p in base + fast)
    x = blocks(1, 3, size=160)
    with torch.no_grad():
        y = g(x)
        t = g.texture(y)
    assert abs(float((t - y).std()) - float(g.grain.amount)) < 0.02
    st = Stylizer(g, {"training": {}}, device="cpu", precision="fp32")
    whole = st.stylize_tensor(x)
    assert torch.allclose(whole, t.clamp(-1, 1), atol=1e-5)
    assert torch.allclose(st.stylize_tensor(x, tile=64), whole, atol=2e-3)
