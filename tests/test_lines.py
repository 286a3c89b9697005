"""Ink lines chosen after unpaired training (nets/lite_lines.py): drawn for a set with dark
outlines, left out for a colour grade, lines and paper tones for a drawing, deterministic,
and recorded with the style."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY, blocks, lined_lite, make_images

from brushwork import nets
from brushwork.color import luminance
from brushwork.data import ImageBank
from brushwork.io import load_folder
from brushwork.nets import lite_lines as L
from brushwork.nets.lite_lines import add_lines, black_hat, calibrate_lines, ink_colour
from brushwork.training.loop import Budget
from brushwork.training.recipe import default_recipe
from brushwork.training.style import train_style_run


def outlined(x: torch.Tensor) -> torch.Tensor:
    """A cartoon-like look: the image with thick near-black lines along its edges."""
    lum = F.pad(luminance(x), (1, 1, 1, 1), mode="replicate")
    edge = ((lum[..., 1:-1, 2:] - lum[..., 1:-1, :-2]).abs() + (lum[..., 2:, 1:-1] - lum[..., :-2, 1:-1]).abs()) > 0.05
    edge = F.max_pool2d(edge.float(), 3, 1, 1)
    return x * (1 - edge) - 0.9 * edge


def drawn(x: torch.Tensor) -> torch.Tensor:
    """A pencil-drawing-like look: white paper, thin dark-grey lines along the image's edges."""
    lum = F.pad(luminance(x), (1, 1, 1, 1), mode="replicate")
    edge = ((lum[..., 1:-1, 2:] - lum[..., 1:-1, :-2]).abs() + (lum[..., 2:, 1:-1] - lum[..., :-2, 1:-1]).abs()) > 0.05
    return (0.9 - 1.5 * edge.float()).expand(-1, 3, -1, -1)


def test_black_hat_finds_thin_dark_structures_only() -> None:
    img = torch.zeros(1, 1, 40, 40)
    img[..., 10:13, :] = -1.0  # a thin dark line
    img[..., 25:, :] = -1.0  # a wide dark region
    bh = black_hat(img)
    assert bh[..., 11, 5] == pytest.approx(1.0) and bh[..., 35, 5] == 0 and bh[..., 5, 5] == 0


def test_lines_are_drawn_for_an_outlined_style_in_its_ink_colour() -> None:
    content, style = blocks(6, seed=1), outlined(blocks(6, seed=2))
    assert (ink_colour(style) < -0.8).all()
    g = lined_lite()
    report = calibrate_lines(g, content, style)
    assert report["drawn"] and report["strength"] == 1.0 and report["swd_ratio"] < 0.8 and report["ink_ratio"] > 3
    assert g.structure.ink[1].item() == report["strength"]
    with torch.no_grad():  # the output now darkens the content's edges
        out = g.colour(content)
    edges = outlined(content) < -0.8
    assert out[edges].mean() < content[edges].mean() - 0.3
    assert calibrate_lines(lined_lite(), content, style) == report  # deterministic
    # a colourful style with black fills as well as outlines: lines, and no tone curves
    assert not report["drawing"] and report["hue_spread"] > 0.015
    assert torch.equal(g.lut.lut, lined_lite().lut.lut)


def test_thin_ink_and_chroma() -> None:
    img = torch.full((1, 3, 40, 40), 0.8)
    img[..., 10:12, :] = -0.8  # a thin dark line
    ink = torch.full((3,), -0.8)
    assert L.thin_ink(img, ink) == 1.0 and L.chroma(img) == 0.0
    img[..., 25:, :] = -0.8  # and a wide dark region of the same colour
    assert 0.05 < L.thin_ink(img, ink) < 0.2
    img[:, 0] += 0.3  # red + 0.3: luminance + 0.0897; |r - l| 0.2103, |g - l| = |b - l| 0.0897
    assert L.chroma(img) == pytest.approx((0.2103 + 2 * 0.0897) / 3, abs=1e-4)


def test_hue_spread_is_zero_for_one_tinted_ink_on_tinted_paper() -> None:
    paper, ink = torch.tensor([0.9, 0.84, 0.68]), torch.tensor([-0.5, -0.66, -0.8])  # cream, brown
    t = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    duotone = paper.view(1, 3, 1, 1) + t * (ink - paper).view(1, 3, 1, 1)
    assert L.chroma(duotone) > 0.06 and L.hue_spread(duotone) < 1e-3  # tinted, but one hue family
    assert L.hue_spread(blocks(2, seed=3)) > 0.1  # random colours


def test_apply_curve_interpolates_between_knots_and_holds_at_the_ends() -> None:
    xs, ys = torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([0.0, 0.5, 0.6])
    out = L.apply_curve(torch.tensor([-2.0, -0.5, 0.5, 3.0]), xs, ys)
    assert torch.allclose(out, torch.tensor([0.0, 0.25, 0.55, 0.6]), atol=1e-5)


def test_a_drawing_gets_lines_and_paper_tones() -> None:
    """Grey paper with thin strokes: the lines are drawn and the photo's colours go to the
    paper, its edges to the strokes (the colour stages alone would leave a faded photo)."""
    content, style = blocks(6, seed=1) * 0.7 + 0.2, drawn(blocks(6, seed=2))  # photos lighter than the ink
    g = lined_lite()
    report = calibrate_lines(g, content, style)
    assert report["drawing"] and report["drawn"] and report["thin_ink"] == 1.0 and report["chroma"] == 0.0
    with torch.no_grad():
        out = g.colour(content)
    lines = drawn(content)[:, :1] < 0
    near = F.max_pool2d(lines.float(), 7, 1, 3) > 0
    paper = out[(~near).expand_as(out)]
    assert paper.mean() > 0.7 and paper.std() < 0.2  # the blocks' colours became paper
    assert out[lines.expand_as(out)].mean() < paper.mean() - 0.5  # the edges became strokes
    assert calibrate_lines(lined_lite(), content, style) == report  # deterministic


def test_no_lines_for_a_colour_grade_the_colour_stages_learned() -> None:
    shift = torch.tensor([0.25, 0.1, -0.1])
    content, style = blocks(6, seed=1), blocks(6, seed=2) * 0.6 + shift.view(1, 3, 1, 1)
    g = lined_lite()
    with torch.no_grad():  # colour stages as training leaves them: the grade itself
        g.tone.matrix.copy_(0.6 * torch.eye(3))
        g.tone.bias.copy_(shift)
        before = g.colour(content)
    report = calibrate_lines(g, content, style)
    assert not report["drawn"] and report["strength"] == 0.0
    assert (g.structure.ink == 0).all()
    with torch.no_grad():
        assert torch.equal(g.colour(content), before)  # the output is what it was


def test_decide_false_leaves_the_lines_found_drawn() -> None:
    """Benchmarks compare a look with and without the lines the search found, whatever the rule says."""
    content, style = blocks(6, seed=1), blocks(6, seed=2) * 0.5
    g = lined_lite()
    report = calibrate_lines(g, content, style, decide=False)
    assert not report["drawn"] and not L.lines_rule(report)
    assert g.structure.ink[1].item() == 1.0 and g.structure.edge_at.item() == pytest.approx(report["edge_at"])
    assert calibrate_lines(lined_lite(), content, style) == report  # the same measures either way
    assert 0.0 <= report["lined_thin_ink"] <= 1.0


def test_no_lines_in_a_mid_grey_ink() -> None:
    """Flat regions' borders are "darker than their surroundings" too; ink must be dark."""
    content, style = blocks(6, seed=1), blocks(6, seed=2) * 0.5
    report = calibrate_lines(lined_lite(), content, style)
    assert not report["drawn"] and not report["ink_is_dark"]


def test_no_lines_for_wide_black_fills() -> None:
    """A posterised look's black shadow regions are dark and far more common than in the
    photos, and drawing lines even brings the patch statistics closer, but they are not
    lines: none of that ink is thin."""
    g = torch.Generator().manual_seed(5)  # black in about half the cells
    fill = F.interpolate((torch.rand(6, 1, 6, 6, generator=g) < 0.5).float(), size=(96, 96), mode="nearest")
    style = blocks(6, seed=2) * (1 - fill) - 0.9 * fill
    report = calibrate_lines(lined_lite(), blocks(6, seed=1), style)
    assert report["ink_is_dark"] and report["ink_ratio"] > 3 and report["swd_ratio"] < 0.8  # the other tests pass
    assert report["thin_ink"] < 0.45 and not report["drawn"]


def test_add_lines_keeps_the_trained_numbers_and_changes_kwargs_only_when_drawn() -> None:
    kw = {"ngf": 4, "n_blocks": 1, "lut_size": 5, "structure": True, "lines": False, "detail": 0.0}
    g = nets.create("generator", "lite", **kw).eval()
    with torch.no_grad():
        g.structure.mix.fill_(0.2)
    content, style = blocks(6, seed=1), outlined(blocks(6, seed=2))
    lined, lined_kw, report = add_lines(g, kw, content, style)
    assert report is not None and report["drawn"] and lined_kw == {**kw, "lines": True} and lined is not g
    for k, v in g.state_dict().items():
        assert torch.equal(lined.state_dict()[k], v), k
    same, same_kw, report = add_lines(g, kw, content, blocks(6, seed=2))  # a style like the photos
    assert report is not None and not report["drawn"] and same is g and same_kw == kw
    plain = {**kw, "structure": False}
    assert add_lines(nets.create("generator", "lite", **plain), plain, content, style)[2] is None


def test_recipe_calibrates_lines_for_purely_unpaired_lite_only() -> None:
    # the earlier unpaired recipe (teacher=""); the default learns lines from pseudo-pairs
    assert default_recipe(12, teacher="").line_calibration and default_recipe(500, teacher="").line_calibration
    assert not default_recipe(12).line_calibration
    assert not default_recipe(12, n_pairs=5).line_calibration  # pairs teach the lines directly
    assert not default_recipe(12, generator="resnet").line_calibration
    assert not default_recipe(12, line_calibration=False).line_calibration


def test_unpaired_training_records_the_line_choice(tmp_path: Path) -> None:
    content = ImageBank(load_folder(make_images(tmp_path / "c", 2, seed=1)).images, 32)
    style = ImageBank(load_folder(make_images(tmp_path / "s", 2, seed=2)).images, 32)
    r = default_recipe(len(style), size=32, **TINY, teacher="")
    path = train_style_run(
        content=content, style=style, pairs=None, recipe=r, run_dir=tmp_path / "run",
        style_dir=tmp_path / "style", budget=Budget(steps=2), seed=1, device="cpu", quiet=True,
    )  # fmt: skip
    meta = json.loads((path / "style.json").read_text())
    lines = meta["training"]["lines"]
    assert set(lines) == {
        "drawn", "drawing", "strength", "edge_at", "colour", "ink_is_dark", "swd_ratio", "ink_ratio", "thin_ink", "lined_thin_ink",
        "chroma",
        "hue_spread",
    }  # fmt: skip
    assert meta["generator"]["kwargs"]["lines"] is lines["drawn"]
    assert meta["training"]["work_side"] == 48  # make_images' 48 x 40 photos: the scale lines are drawn at


def test_add_lines_draws_the_lines_found_when_asked() -> None:
    """``decide=False`` (the recipe's lines=always): the lines found are drawn even where the
    rule would leave them out, and the report says so."""
    kw = {"ngf": 4, "n_blocks": 1, "lut_size": 5, "structure": True, "detail": 0.0}
    g = nets.create("generator", "lite", **kw).eval()
    content, style = blocks(6, seed=1), blocks(6, seed=2)  # a style like the photos: the rule says no
    assert not add_lines(g, kw, content, style)[2]["drawn"]  # type: ignore[index]
    lined, lined_kw, report = add_lines(g, kw, content, style, decide=False)
    assert report is not None and report["drawn"] and report["asked"] and not report["rule"]
    assert lined is not g and lined_kw["lines"] and lined.structure.ink[1].item() == L.LINE_STRENGTH
    with torch.no_grad():
        assert not torch.equal(lined(content), g(content))


def test_recipe_lines_modes() -> None:
    from brushwork.errors import BrushworkError

    assert default_recipe(12).lines == "auto"
    with pytest.raises(BrushworkError, match="lines must be"):
        default_recipe(12, lines="sometimes")
    with pytest.raises(BrushworkError, match="lines=always needs a generator that draws lines"):
        default_recipe(12, generator="painter", lines="always")


@pytest.mark.parametrize(("teacher", "mode"), [("structure", "always"), ("", "never")])
def test_the_lines_mode_reaches_the_saved_style(tmp_path: Path, teacher: str, mode: str) -> None:
    """lines=always calibrates and draws lines after the default (pseudo-pair) training, which
    otherwise has no search; lines=never skips the search of the purely unpaired recipe."""
    content = ImageBank.from_tensors(list(blocks(3, seed=1, size=64)))
    style = ImageBank.from_tensors(list(outlined(blocks(3, seed=2, size=64))))
    r = default_recipe(len(style), size=32, **TINY, teacher=teacher, lines=mode)
    path = train_style_run(
        content=content, style=style, pairs=None, recipe=r, run_dir=tmp_path / "run",
        style_dir=tmp_path / "style", budget=Budget(steps=2), seed=1, device="cpu", quiet=True,
    )  # fmt: skip
    meta = json.loads((path / "style.json").read_text())
    if mode == "always":
        lines = meta["training"]["lines"]
        assert lines["asked"] and lines["drawn"] and meta["generator"]["kwargs"]["lines"] is True
        assert "lines" not in meta["training"].get("pruned", {}).get("dropped", [])  # they change the output
    else:
        assert "lines" not in meta["training"]
