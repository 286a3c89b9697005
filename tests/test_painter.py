"""The painter generator and its pretrained start: Magenta's networks rebuilt in torch must
compute what the shipped ONNX networks compute, and a painter style trains, saves, loads and
tiles like any other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

import brushwork
from brushwork import nets
from brushwork.nets.magenta import model_path, style_encoder


def _image(seed: int, side: int) -> np.ndarray:
    """A smooth random image with edges (NHWC, [0, 1])."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 6, 6, generator=g)
    x = torch.nn.functional.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False)
    x = x + 0.3 * (torch.rand(1, 1, side, side, generator=g) > 0.97).float()
    return x.clamp(0, 1).permute(0, 2, 3, 1).numpy().astype(np.float32)


def test_style_encoder_matches_the_onnx_network() -> None:
    img = _image(0, 256)
    sess = ort.InferenceSession(str(model_path("arbitrary_predict")), providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: img})[0].reshape(-1)
    got = style_encoder()(torch.from_numpy(img).permute(0, 3, 1, 2) * 2 - 1)[0].detach().numpy()
    cos = float(np.dot(want, got) / np.linalg.norm(want) / np.linalg.norm(got))
    # the ONNX network stores int8 weights and activations; ours runs them in float32
    assert cos > 0.999, cos
    assert np.abs(want - got).mean() < 0.02 * np.abs(want).max()


def test_painter_starts_as_the_onnx_transfer_network() -> None:
    content, style = _image(1, 128), _image(2, 256)
    pred = ort.InferenceSession(str(model_path("arbitrary_predict")), providers=["CPUExecutionProvider"])
    vec = pred.run(None, {pred.get_inputs()[0].name: style})[0]
    trans = ort.InferenceSession(str(model_path("arbitrary_transform")), providers=["CPUExecutionProvider"])
    names = [i.name for i in trans.get_inputs()]
    big = np.zeros((1, 384, 384, 3), np.float32)  # the ONNX graph's fixed input size
    big[:, :128, :128] = content
    want = trans.run(None, {names[0]: big, names[1]: vec})[0][0, 8:120, 8:120]  # away from the padding
    g = nets.create("generator", "painter")
    g.load_pretrained()
    with torch.no_grad():
        g.style.copy_(torch.from_numpy(vec.reshape(-1)))
        x = torch.from_numpy(big).permute(0, 3, 1, 2) * 2 - 1
        got = ((g(x)[0].permute(1, 2, 0).numpy() + 1) / 2)[8:120, 8:120]
    diff = np.abs(got - want)
    assert diff.mean() < 0.05, diff.mean()  # int8 quantisation noise in the ONNX network
    assert np.abs(want - content[0, 8:120, 8:120]).mean() > 3 * diff.mean()  # it does stylize


def test_a_painter_style_trains_saves_loads_and_tiles(photo_dir: Path, style_dir: Path) -> None:
    path = brushwork.train_style(
        style_dir, photo_dir, name="p", steps=3, generator="painter", size=32, seed=0, quiet=True, device="cpu",
        recipe={"d_ndf": 8, "num_patches": 16, "max_side": 64, "sample_every": 2, "checkpoint_every": 2,
                "precision": "fp32"},
    )  # fmt: skip
    st = brushwork.Stylizer.load(path, device="cpu", precision="fp32")
    assert st.meta["training"]["recipe"]["prior"] is True
    x = torch.rand(1, 3, 96, 120) * 2 - 1
    whole = st.stylize_tensor(x)
    assert whole.shape == x.shape and (whole - x).abs().mean() > 0.05
    tiled = brushwork.Stylizer.load(path, device="cpu", precision="fp32", tile=64).stylize_tensor(x)
    # tiles share the whole image's instance-norm statistics and blend their overlaps
    assert (tiled - whole).abs().mean() < 0.02


def test_prior_needs_a_family_that_has_one() -> None:
    from brushwork.errors import BrushworkError
    from brushwork.training.recipe import default_recipe

    assert default_recipe(12, generator="painter").prior is True
    with pytest.raises(BrushworkError, match="prior"):
        default_recipe(12, generator="resnet", prior=True)


def test_a_drawn_look_loosens_the_painters_tie_to_the_photo() -> None:
    """A drawing keeps the photo's lines, not its colours: where ``--generator auto`` measured
    a drawn look, the painter's PatchNCE weighs less and its style vector more; a painting
    (chosen for its strokes) and the other families keep their recipes, and the user's
    overrides still come last."""
    from brushwork.training.recipe import default_recipe

    choice = {"generator": "painter", "drawn": True}
    painted, drawn = default_recipe(12, generator="painter"), default_recipe(12, generator="painter", choice=choice)
    assert drawn.lambda_nce < painted.lambda_nce and drawn.lambda_style_vec > painted.lambda_style_vec
    assert default_recipe(12, choice=choice) == default_recipe(12)  # lite: no PatchNCE tie to loosen
    assert default_recipe(12, generator="painter", choice=choice, lambda_nce=2.0).lambda_nce == 2.0


def test_one_painting_pulls_the_painter_to_its_style_vector() -> None:
    """A single style image is the style itself, not a mean over a set's varied images: the
    painter is pulled to its style vector harder than for a set (or a drawing) and tied to the
    photo less; lite ignores it; the user's overrides still come last."""
    from brushwork.training.recipe import default_recipe

    single, painted = default_recipe(1, generator="painter"), default_recipe(12, generator="painter")
    drawn = default_recipe(12, generator="painter", choice={"generator": "painter", "drawn": True})
    assert single.lambda_style_vec > drawn.lambda_style_vec > painted.lambda_style_vec
    assert single.lambda_nce < painted.lambda_nce
    lite_single, lite_set = default_recipe(1), default_recipe(12)
    assert (lite_single.lambda_nce, lite_single.lambda_style_vec) == (lite_set.lambda_nce, lite_set.lambda_style_vec)
    assert default_recipe(1, generator="painter", lambda_style_vec=1.0).lambda_style_vec == 1.0


def test_a_painter_exports_to_onnx_with_the_same_output(tmp_path: Path) -> None:
    from brushwork.export import export_generator

    g = nets.create("generator", "painter")
    g.load_pretrained()
    with torch.no_grad():
        g.style.copy_(torch.randn(100, generator=torch.Generator().manual_seed(0)))
    g.eval()
    path = export_generator(g, "onnx", tmp_path / "p.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for hw in [(64, 96), (131, 77)]:
        x = torch.rand(1, 3, *hw) * 2 - 1
        with torch.no_grad():
            want = g(x)
        got = torch.from_numpy(sess.run(None, {"image": x.numpy()})[0])
        assert got.shape == want.shape and (got - want).abs().max() <= 1e-3
