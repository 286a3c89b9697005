"""Style training at tiny sizes: exact resume, EMA, budgets, recipes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import TINY, make_images
from safetensors.torch import load_file

import brushwork
from brushwork.data import ImageBank
from brushwork.ema import EMA
from brushwork.errors import BrushworkError, NoImagesError
from brushwork.io import load_folder
from brushwork.library import runs_dir
from brushwork.training.gan import default_gan_recipe
from brushwork.training.loop import Budget
from brushwork.training.recipe import default_recipe
from brushwork.training.style import train_style_run


def weights(style: Path) -> dict[str, torch.Tensor]:
    return load_file(str(style / "generator.safetensors"))


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        # with both style-vector losses through Magenta's encoder (whose backward must repeat
        # exactly on several threads)
        (
            "cut",
            {
                "lambda_swd": 1.0,
                "lambda_res": 1.0,
                "diffaug": "color,translation,cutout",
                "lambda_style_vec": 1.0,
                "lambda_style_dir": 1.0,
            },
        ),
        ("cyclegan", {"pool_size": 2}),
    ],
)
def test_interrupted_then_resumed_equals_uninterrupted(
    photo_dir: Path, style_dir: Path, method: str, extra: dict
) -> None:
    kw = {
        "steps": 6,
        "method": method,
        "size": 32,
        "seed": 3,
        "recipe": {**TINY, **extra},
        "quiet": True,
        "device": "cpu",
        "generator": "lite",
    }
    full = brushwork.train_style(style_dir, photo_dir, name="full", **kw)

    def stop_at_3(step: int, stats: dict[str, float]) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(BrushworkError, match="--resume"):
        brushwork.train_style(style_dir, photo_dir, name="cut", on_step=stop_at_3, **kw)
    assert (runs_dir() / "cut" / "checkpoint.safetensors").exists()
    resumed = brushwork.train_style(style_dir, photo_dir, name="cut", resume=True, **kw)
    a, b = weights(full), weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_same_seed_same_result_and_run_artifacts(photo_dir: Path, style_dir: Path) -> None:
    s1 = brushwork.train_style(
        style_dir,
        photo_dir,
        name="a",
        steps=4,
        method="fastcut",
        generator="lite",
        size=32,
        seed=1,
        recipe=TINY,
        quiet=True,
        device="cpu",
    )
    s2 = brushwork.train_style(
        style_dir,
        photo_dir,
        name="b",
        steps=4,
        method="fastcut",
        generator="lite",
        size=32,
        seed=1,
        recipe=TINY,
        quiet=True,
        device="cpu",
    )
    assert all(torch.equal(weights(s1)[k], v) for k, v in weights(s2).items())
    run = runs_dir() / "a"
    assert (run / "training_options.json").exists() and (run / "stats.jsonl").exists()
    assert list((run / "samples").glob("step_*.png")) and list((run / "tb").iterdir())
    meta = brushwork.Stylizer.load("a").meta
    t = meta["training"]
    assert t["steps"] == 4 and t["method"] == "fastcut" and t["style_images"] == 3 and t["content_images"] == 4
    assert (s1 / "preview.png").exists()


def test_paired_training_with_before_after(tmp_path: Path, photo_dir: Path) -> None:
    before = make_images(tmp_path / "before", 3, seed=5)
    after = make_images(tmp_path / "after", 3, seed=5, tint=(40, 0, -40))
    s = brushwork.train_style(
        None, photo_dir, name="edits", steps=3, before_dir=before, after_dir=after, size=32, recipe=TINY, quiet=True
    )
    assert brushwork.Stylizer.load(s).meta["training"]["pairs"] == 3
    with pytest.raises(BrushworkError, match="go together"):
        brushwork.train_style(None, photo_dir, name="x", steps=1, before_dir=before)


def test_structure_teacher_makes_the_pseudo_pairs_when_asked(photo_dir: Path, style_dir: Path) -> None:
    brushwork.train_style(
        style_dir, photo_dir, name="drawn", steps=2, size=32, recipe={**TINY, "teacher": "structure"}, quiet=True
    )
    # the pseudo-pairs were learned from: the logged steps carry the pair loss (none without a teacher)
    steps = [json.loads(line) for line in (runs_dir() / "drawn" / "stats.jsonl").read_text().splitlines()]
    assert steps and all(step.get("pair", 0.0) > 0 for step in steps)
    plain = brushwork.train_style(
        style_dir, photo_dir, name="plain", steps=1, size=32, recipe={**TINY, "teacher": ""}, quiet=True
    )
    assert brushwork.Stylizer.load(plain).meta["training"]["pseudo_pairs"] == ""
    assert all("pair" not in json.loads(x) for x in (runs_dir() / "plain" / "stats.jsonl").read_text().splitlines())


def test_existing_style_is_never_overwritten(photo_dir: Path, style_dir: Path) -> None:
    brushwork.train_style(
        style_dir, photo_dir, name="mine", steps=1, size=32, recipe=TINY, quiet=True, generator="lite"
    )
    with pytest.raises(BrushworkError, match="already exists"):
        brushwork.train_style(
            style_dir, photo_dir, name="mine", steps=1, size=32, recipe=TINY, quiet=True, generator="lite"
        )


def test_bad_inputs_are_clear(tmp_path: Path, photo_dir: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoImagesError, match="no usable style images"):
        brushwork.train_style(empty, photo_dir, name="x", steps=1, recipe=TINY, generator="lite")
    with pytest.raises(BrushworkError, match="invalid style name"):
        brushwork.train_style(empty, photo_dir, name="../evil", steps=1)
    with pytest.raises(BrushworkError, match="no training run"):
        brushwork.train_style(photo_dir, photo_dir, name="never", steps=1, resume=True)
    with pytest.raises(BrushworkError, match="exactly one"):
        Budget(steps=3, minutes=1.0)


def test_recipe_structure_stage_smooths_unpaired_and_draws_lines_with_pairs() -> None:
    unpaired = default_recipe(12, teacher="")
    assert unpaired.generator_kwargs == {"structure": True, "lines": False} and unpaired.lambda_edges > 0
    assert default_recipe(12, n_pairs=5).lambda_edges == 0
    assert default_recipe(12, n_pairs=5).generator_kwargs == {"structure": True}
    assert default_recipe(12, n_pairs=5).lambda_pair > default_recipe(12, teacher="").lambda_pair
    # without pairs, lite learns from the structure teacher's pseudo-pairs like from real ones
    taught = default_recipe(12)
    assert taught.teacher == "structure" and taught.colour_start == "transport" and not taught.line_calibration
    assert taught.generator_kwargs == {"structure": True} and taught.lambda_pair == 30.0
    assert default_recipe(12, n_pairs=5).teacher == "" and default_recipe(12, generator="resnet").teacher == ""
    assert default_recipe(12, n_pairs=5, lambda_pair=10.0).lambda_pair == 10.0
    # the user's generator arguments are merged into the recipe's, and can turn it off
    assert default_recipe(12, n_pairs=5, generator_kwargs={"ngf": 8}).generator_kwargs == {"structure": True, "ngf": 8}
    assert default_recipe(12, n_pairs=5, generator_kwargs={"structure": False}).generator_kwargs == {"structure": False}
    assert default_recipe(12, n_pairs=5, generator="resnet").generator_kwargs == {}


def test_recipe_adapts_to_small_sets() -> None:
    small, big = default_recipe(5), default_recipe(500)
    assert small.diffaug and not big.diffaug
    assert small.style_batch > big.style_batch
    assert default_recipe(5, diffaug="").diffaug == ""  # the user can override
    with pytest.raises(BrushworkError, match="unknown recipe setting"):
        default_recipe(5, nonsense=1)
    # a bad augmentation policy is a user error in both recipes, not a ValueError
    with pytest.raises(BrushworkError, match="diffaug"):
        default_recipe(5, diffaug="colour,blur")
    with pytest.raises(BrushworkError, match="diffaug"):
        default_gan_recipe(5, diffaug="colour")
    with pytest.raises(BrushworkError, match="lr_decay_start"):
        default_recipe(5, lr_decay_start=1.5)
    with pytest.raises(BrushworkError, match="idt_kind"):
        default_recipe(5, idt_kind="l3")


def test_time_budget_schedules_decay_to_end() -> None:
    b = Budget(minutes=1.0)
    b.elapsed = 15.0
    assert b.lr_factor() == 1.0
    b.elapsed = 45.0
    assert b.lr_factor() == pytest.approx(0.5)
    b.elapsed = 60.0
    assert b.done() and b.lr_factor() == 0.0
    b.elapsed = 15.0  # decay from the start: a quarter of the way, 3/4 of the rate is left
    assert b.lr_factor(decay_start=0.0) == pytest.approx(0.75)


def test_step_cap_ends_a_time_budget_and_drives_its_schedule() -> None:
    b = Budget(minutes=10.0, max_steps=100)
    b.step, b.elapsed = 25, 60.0  # a tenth of the time, a quarter of the steps
    assert b.progress() == pytest.approx(0.25) and b.lr_factor() == 1.0
    b.step = 75
    assert b.lr_factor() == pytest.approx(0.5) and not b.done()
    b.step = 100
    assert b.done() and b.lr_factor() == 0.0
    b.step, b.elapsed = 10, 600.0  # a slow machine: the time ends first
    assert b.done()
    with pytest.raises(BrushworkError, match="max_steps"):
        Budget(minutes=1.0, max_steps=0)
    with pytest.raises(BrushworkError, match="max_steps"):
        default_recipe(12, max_steps=-1)
    # the cap is the small unpaired recipe's: pairs, big sets and resnet train to the budget
    assert default_recipe(12, teacher="").max_steps > 0
    assert default_recipe(12).max_steps == 0 and default_recipe(12).detail == 1.0  # pseudo-pairs train to the budget
    assert default_recipe(12, n_pairs=5).max_steps == 0
    assert default_recipe(500).max_steps == 0
    assert default_recipe(12, generator="resnet").max_steps == 0
    assert default_recipe(12, max_steps=0).max_steps == 0  # the user can lift it
    assert default_recipe(12, n_pairs=5).detail == 1.0 and default_recipe(500).detail == 1.0
    with pytest.raises(BrushworkError, match="detail"):
        default_recipe(12, detail=2.0)


def test_training_with_a_time_budget_ends_at_the_recipe_step_cap(tmp_path: Path) -> None:
    content = ImageBank(load_folder(make_images(tmp_path / "c", 2, seed=1)).images, 32)
    style = ImageBank(load_folder(make_images(tmp_path / "s", 2, seed=2)).images, 32)
    r = default_recipe(len(style), size=32, **{**TINY, "max_steps": 3, "teacher": ""})
    path = train_style_run(
        content=content, style=style, pairs=None, recipe=r, run_dir=tmp_path / "run",
        style_dir=tmp_path / "style", budget=Budget(minutes=60.0), seed=1, device="cpu", quiet=True,
    )  # fmt: skip
    meta = json.loads((path / "style.json").read_text())
    assert meta["training"]["steps"] == 3 and meta["training"]["ended_by"] == "step cap"
    # the small unpaired recipe saves the style without the residual it trained
    assert r.detail == 0.0 and meta["generator"]["kwargs"]["detail"] == 0.0


def test_ema_warms_up() -> None:
    net = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(net.weight)
    ema = EMA(net, decay=0.999)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update(net)  # warm-up decay (1+1)/(10+1): the average moves fast at first
    assert ema.model.weight.item() == pytest.approx(1 - 2 / 11)


def test_probe_sees_ema_generator_and_changes_nothing(tmp_path: Path) -> None:
    content = ImageBank(load_folder(make_images(tmp_path / "c", 3, seed=1)).images, 64)
    style = ImageBank(load_folder(make_images(tmp_path / "s", 3, seed=2, tint=(40, 10, 0))).images, 64)
    seen: list[int] = []

    def probe(step: int, g: torch.nn.Module) -> None:
        assert not g.training and not any(p.requires_grad for p in g.parameters())
        seen.append(step)

    outs = []
    for i, pr in enumerate((probe, None)):
        r = default_recipe(len(style), size=32, **TINY)
        path = train_style_run(
            content=content, style=style, pairs=None, recipe=r, run_dir=tmp_path / f"run{i}",
            style_dir=tmp_path / f"style{i}", budget=Budget(steps=4), seed=5, device="cpu", quiet=True,
            probe=pr, probe_every=2,
        )  # fmt: skip
        outs.append(weights(path))
    assert seen == [2, 4]
    for k in outs[0]:
        assert torch.equal(outs[0][k], outs[1][k]), k


def test_recipe_settings_are_type_checked() -> None:
    with pytest.raises(BrushworkError, match="'lr_g' must be a number, got 'fast'"):
        default_recipe(12, lr_g="fast")
    with pytest.raises(BrushworkError, match="'batch' must be a whole number"):
        default_recipe(12, batch=1.5)
    with pytest.raises(BrushworkError, match="'prior' must be true or false"):
        default_recipe(12, generator="painter", prior=1)
    with pytest.raises(BrushworkError, match="'crop_scale' must be a list of 2 numbers"):
        default_recipe(12, crop_scale=[1.0])
    with pytest.raises(BrushworkError, match="'teacher' must be a string"):
        default_recipe(12, teacher=0)
    r = default_recipe(12, lr_g=1, crop_scale=[1, 2])  # whole numbers where numbers go are fine
    assert r.lr_g == 1.0 and isinstance(r.lr_g, float) and r.crop_scale == (1.0, 2.0)


def test_a_screened_style_resumes_exactly_and_applies(tmp_path: Path) -> None:
    """Images large enough to measure a screen: the fitted screen is saved with the style,
    an interrupted run resumes to the same weights, and the style applies at any size."""
    from conftest import make_images

    from brushwork.stylizer import Stylizer

    photos = make_images(tmp_path / "big_photos", 3, seed=1, size=(160, 136))
    styles = make_images(tmp_path / "big_style", 3, seed=2, size=(160, 136), tint=(40, 0, -30))
    kw = {"steps": 4, "size": 32, "seed": 5, "quiet": True, "device": "cpu", "generator": "lite",
          "recipe": {**TINY, "max_side": 160, "prune": False}}  # fmt: skip
    # (kept whatever its effect: the tint's fitted screen changes these photos by less than a level)
    full = brushwork.train_style(styles, photos, name="full", **kw)
    meta = json.loads((full / "style.json").read_text())
    assert len(meta["generator"]["kwargs"]["screen"]) == 6  # three waves, fy and fx each

    def stop_at_2(step: int, stats: dict[str, float]) -> None:
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(BrushworkError, match="--resume"):
        brushwork.train_style(styles, photos, name="cut", on_step=stop_at_2, **kw)
    resumed = brushwork.train_style(styles, photos, name="cut", resume=True, **kw)
    a, b = weights(full), weights(resumed)
    assert a.keys() == b.keys() and any(k.startswith("screen.") for k in a) and "grain.amount" in a
    for k in a:
        assert torch.equal(a[k], b[k]), k
    st = Stylizer.load(full, device="cpu", precision="fp32")
    x = torch.rand(1, 3, 150, 170) * 2 - 1
    assert torch.allclose(st.stylize_tensor(x, tile=64), st.stylize_tensor(x), atol=2e-3)
