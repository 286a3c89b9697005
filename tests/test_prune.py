"""Saving a style leaves out the stages that change nothing: the rest runs unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import blocks
from torch import nn

from brushwork import nets
from brushwork.stylefile import load_style, save_style
from brushwork.stylizer import DEFAULT_MAX_MEMORY, Stylizer
from brushwork.training.prune import PEAK_LEVELS, RMS_LEVELS, effect, outputs, prune_stages

EVERY_STAGE = {"structure": True, "lines": True, "screen": [0.2, 0.1, -0.1, 0.2], "grain": True, "detail": 1.0}
KWARGS = nets.full_kwargs("generator", "lite", **EVERY_STAGE)


def photos(seed: int, n: int = 4, size: int = 96) -> torch.Tensor:
    """Flat blocks with a smooth ramp across them: edges, gradients and flat parts."""
    ramp = torch.linspace(-0.3, 0.3, size).view(1, 1, 1, size)
    return (blocks(n, seed, size) + ramp).clamp(-1, 1)


def grade_like(strong: tuple[str, ...] = ()) -> nn.Module:
    """A `lite` generator with every stage, as training leaves one on a colour grade: the
    tone and LUT well away from the identity, the other stages all but at it; the stages
    in ``strong`` set to change the picture."""
    torch.manual_seed(0)
    g = nets.create("generator", "lite", **EVERY_STAGE).eval()
    with torch.no_grad():
        g.lut.lut.mul_(0.8).add_(torch.tensor([0.1, -0.05, 0.0]).view(1, 3, 1, 1, 1))
        g.tone.matrix.add_(torch.randn(3, 3) * 0.05)
        g.tone.curve.normal_(0, 0.05)
        g.structure.mix.fill_(2e-3)
        g.structure.ink.fill_(1e-3)
        if "lines" in strong:
            g.structure.ink.fill_(0.6)
        if "grain" in strong:
            g.grain.amount.fill_(0.05)
        if "residual" in strong:
            g.out.weight.normal_(0, 0.05)
        if "smoothing" in strong:
            g.structure.mix.fill_(0.5)
    return g


def test_a_grade_keeps_its_colour_map_alone_and_applies_the_same(tmp_path: Path) -> None:
    g = grade_like()
    assert g.stages() == ["residual", "smoothing", "lines", "screen", "grain", "tone"]
    pruned, kw, report = prune_stages("lite", KWARGS, g, photos(1))
    assert report["dropped"] == g.stages() and pruned.stages() == []
    assert kw["detail"] == 0.0 and not kw["structure"] and kw["screen"] is None and not kw["grain"]
    assert kw["tone_knots"] == 0  # folded into the LUT
    # saved and loaded as a style, on photos the pruning never saw: within its bound
    path = save_style(tmp_path / "grade", "lite", kw, pruned.state_dict(), {}, None)
    loaded, _ = load_style(path)
    other = photos(7, n=3, size=128)
    rms, peak = effect(outputs(loaded, other), outputs(g, other))
    assert rms < RMS_LEVELS and peak < PEAK_LEVELS, (rms, peak)
    # and it costs a fraction: a colour map needs no context, a quarter of the memory
    assert loaded.context(1) == 0 and loaded.bytes_per_pixel < g.bytes_per_pixel / 3


@pytest.mark.parametrize("stage", ["lines", "grain", "residual", "smoothing"])
def test_a_stage_that_changes_the_picture_stays(stage: str) -> None:
    g = grade_like((stage,))
    pruned, _, report = prune_stages("lite", KWARGS, g, photos(1))
    assert stage in pruned.stages() and stage not in report["dropped"]
    rms, peak = effect(outputs(pruned, photos(7)), outputs(g, photos(7)))
    assert rms < RMS_LEVELS and peak < PEAK_LEVELS, (rms, peak)


def test_a_painter_has_nothing_to_leave_out() -> None:
    g = nets.create("generator", "painter")
    assert g.stages() == []
    with pytest.raises(ValueError, match="no stage"):
        g.without({}, "residual")


def test_a_1024_photo_is_one_pass_with_every_default_generator() -> None:
    """The default memory budget holds a 1024 x 1024 photo whole (no tiles, no context
    recomputed) with lite's every stage and with the painter."""
    for g in (grade_like(), nets.create("generator", "painter")):
        st = Stylizer(g, {"training": {}}, device="cpu", precision="fp32", max_memory=DEFAULT_MAX_MEMORY)
        assert st.tile_size(1024, 1024) is None, type(g).__name__


def test_training_saves_the_pruned_style_and_says_what_it_left_out(tmp_path: Path) -> None:
    """The default recipe prunes before saving: the summary names the stages left out, the
    saved generator runs none of them, and ``prune=false`` keeps them all."""
    import json

    from conftest import TINY, make_images

    import brushwork

    photos = make_images(tmp_path / "p", 3, seed=1, size=(96, 80))
    styles = make_images(tmp_path / "s", 3, seed=2, size=(96, 80), tint=(40, 0, -30))
    kw = {"steps": 2, "size": 32, "seed": 3, "quiet": True, "device": "cpu", "generator": "lite"}
    pruned = brushwork.train_style(styles, photos, name="pruned", recipe=TINY, **kw)
    kept = brushwork.train_style(styles, photos, name="kept", recipe={**TINY, "prune": False}, **kw)
    report = json.loads((pruned / "style.json").read_text())["training"]["pruned"]
    assert report["dropped"] and set(report["effect"]) >= set(report["dropped"])
    g, _ = load_style(pruned)
    full, meta = load_style(kept)
    assert "pruned" not in meta["training"]
    assert not set(g.stages()) & set(report["dropped"]) and set(report["dropped"]) <= set(full.stages())
