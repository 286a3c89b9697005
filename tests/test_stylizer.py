"""Stylizer on PIL images, numpy arrays and tensors; the library resolves names and paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork import Stylizer, library, nets
from brushwork.errors import BrushworkError, StyleNotFoundError
from brushwork.stylefile import save_style


@pytest.fixture
def style_path(brushwork_home: Path) -> Path:
    torch.manual_seed(0)
    kw = {"ngf": 4, "n_blocks": 1, "lut_size": 5}
    g = nets.create("generator", "lite", **kw)
    with torch.no_grad():
        g.lut.lut.mul_(-1)  # an inverting look, easy to recognise
    return save_style(library.styles_dir() / "neg", "lite", kw, g.state_dict(), {"steps": 0}, None)


def test_pil_numpy_tensor(style_path: Path) -> None:
    st = Stylizer.load("neg", device="cpu")
    img = Image.fromarray(np.full((7, 9, 3), 200, np.uint8))
    out = st(img)
    assert isinstance(out, Image.Image) and out.size == (9, 7)
    assert np.asarray(out)[0, 0, 0] < 80  # inverted
    arr8 = st(np.asarray(img))
    assert arr8.dtype == np.uint8 and arr8.shape == (7, 9, 3)
    assert np.array_equal(arr8, np.asarray(out))
    arrf = st(np.asarray(img).astype(np.float32) / 255)
    assert arrf.dtype == np.float32 and abs(arrf[0, 0, 0] - arr8[0, 0, 0] / 255) < 0.01
    t = st(torch.zeros(3, 5, 6))
    assert t.shape == (3, 5, 6)
    assert st(torch.zeros(2, 3, 5, 6)).shape == (2, 3, 5, 6)
    with pytest.raises(BrushworkError, match="H x W x 3"):
        st(np.zeros((4, 4)))
    with pytest.raises(BrushworkError, match="cannot stylize a str"):
        st("photo.jpg")


def test_load_by_path_and_name(style_path: Path) -> None:
    assert Stylizer.load(style_path).name == "neg"
    assert library.user_names() == ["neg"] and "neg" in library.list_names()
    with pytest.raises(StyleNotFoundError, match=r"styles: .*neg"):
        Stylizer.load("missing")
    library.remove("neg")
    assert library.user_names() == [] and library.list_names() == library.builtin_names()


def test_strength_and_preserve_color(style_path: Path) -> None:
    st = Stylizer.load("neg", device="cpu", precision="fp32")
    x = torch.rand(1, 3, 16, 20) * 2 - 1
    assert torch.allclose(st.stylize_tensor(x, strength=0.0), x, atol=1e-6)
    full, half = st.stylize_tensor(x), st.stylize_tensor(x, strength=0.5)
    assert torch.allclose(half, (x + full) / 2, atol=1e-5)
    from brushwork.color import rgb_to_lab

    kept = rgb_to_lab(st.stylize_tensor(x, preserve_color=True))
    lab_x, lab_full = rgb_to_lab(x), rgb_to_lab(full)
    assert (kept[:, 0] - lab_full[:, 0]).abs().median() < 1.0  # lightness from the style (gamut clipping aside)
    inside = (kept[:, 0] > 5) & (kept[:, 0] < 95)  # away from the gamut's ends
    assert (kept[:, 1:] - lab_x[:, 1:]).abs()[inside.expand(2, -1, -1)[None]].median() < 3  # colour from the photo
    with pytest.raises(BrushworkError, match="strength"):
        Stylizer.load("neg", strength=2.0)


def test_detail_is_saved_with_the_style_and_can_be_overridden(brushwork_home: Path) -> None:
    torch.manual_seed(0)
    kw = {"ngf": 4, "n_blocks": 1, "lut_size": 5, "structure": True, "lines": False, "detail": 0.0}
    g = nets.create("generator", "lite", **kw)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    save_style(library.styles_dir() / "flat", "lite", kw, g.state_dict(), {"steps": 0}, None)
    x = torch.rand(1, 3, 150, 170) * 2 - 1
    st = Stylizer.load("flat", device="cpu", precision="fp32")
    colour, residual = g.parts(x)
    assert torch.allclose(st.stylize_tensor(x), colour.clamp(-1, 1), atol=1e-5)
    assert (st.stylize_tensor(x, tile=64) - st.stylize_tensor(x)).abs().max() < 1e-4  # tiles still seamless
    full = Stylizer.load("flat", device="cpu", precision="fp32", detail=1.0)
    assert torch.allclose(full.stylize_tensor(x), (colour + residual).clamp(-1, 1), atol=1e-5)
    with pytest.raises(BrushworkError, match="detail"):
        Stylizer.load("flat", detail=1.5)


def test_tiled_apply_matches_whole(style_path: Path) -> None:
    st = Stylizer.load("neg", device="cpu", precision="fp32")
    x = torch.rand(1, 3, 300, 260) * 2 - 1
    whole = st.stylize_tensor(x)
    assert st.tile_size(300, 260) is None
    tiled = st.stylize_tensor(x, tile=128)
    assert (tiled - whole).abs().max() < 1e-4
    # the tile side per call, on images too (as strength and preserve_color are)
    img = (np.random.default_rng(0).random((300, 260, 3)) * 255).astype(np.uint8)
    assert np.abs(st(img, tile=128).astype(int) - st(img).astype(int)).max() <= 1
    assert np.array_equal(st(img, tile=128), Stylizer.load("neg", device="cpu", precision="fp32", tile=128)(img))


def test_bf16_close_to_fp32(style_path: Path) -> None:
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    a = Stylizer.load("neg", device="cpu", precision="fp32").stylize_tensor(x)
    b = Stylizer.load("neg", device="cpu", precision="bf16").stylize_tensor(x)
    assert (a - b).abs().mean() < 0.01 and (a - b).abs().max() < 0.06


def test_resnet_tiles_use_shared_statistics(brushwork_home: Path) -> None:
    torch.manual_seed(0)
    kw = {"ngf": 8, "n_blocks": 2}
    g = nets.create("generator", "resnet", **kw)
    save_style(library.styles_dir() / "r", "resnet", kw, g.state_dict(), {}, None)
    st = Stylizer.load("r", device="cpu", precision="fp32")
    x = torch.rand(1, 3, 96, 120) * 2 - 1
    x[..., 60:] += 0.4
    whole = st.stylize_tensor(x)
    tiled = st.stylize_tensor(x, tile=64)  # statistics from the whole image (it fits the tile budget)
    assert (tiled - whole).abs().mean() < 0.02


@pytest.mark.parametrize("controls", [{}, {"strength": 0.6, "preserve_color": True}])
def test_8bit_path_matches_float_path(style_path: Path, controls: dict[str, object]) -> None:
    """PIL and uint8 images never get a whole-image float copy (tiles are converted one at
    a time, controls applied per tile, the canvas is uint8): the result is the float
    path's, rounded, to within one level where tiles cross-fade."""
    st = Stylizer.load("neg", device="cpu", precision="fp32")
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 256, (150, 170, 3), dtype=np.uint8)
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 127.5 - 1
    want = ((st.stylize_tensor(x, **controls)[0].permute(1, 2, 0) + 1) * 127.5).round().numpy()
    for tile in (None, 64):
        got = np.asarray(st(Image.fromarray(arr), tile=tile, **controls)).astype(np.float64)
        assert np.abs(got - want).max() <= 1.0
        assert np.array_equal(
            st(arr, tile=tile, **controls), np.asarray(st(Image.fromarray(arr), tile=tile, **controls))
        )
