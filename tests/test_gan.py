"""GAN training, sampling and evaluation at tiny sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import make_images
from PIL import Image
from safetensors.torch import load_file

from brushwork import gan
from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.library import runs_dir
from brushwork.metrics import nearest_distances, swd_distance

TINY = {
    "width": 4,
    "z_dim": 8,
    "batch": 4,
    "sample_every": 2,
    "checkpoint_every": 2,
    "precision": "fp32",
    "max_side": 64,
}


def weights(p: Path) -> dict[str, torch.Tensor]:
    return load_file(str(p / "generator.safetensors"))


@pytest.mark.parametrize("arch", ["dcgan", "fastgan"])
def test_gan_interrupted_then_resumed_equals_uninterrupted(tmp_path: Path, arch: str) -> None:
    imgs = make_images(tmp_path / "imgs", 5, seed=3)
    recipe = {**TINY, "arch": arch}
    full = gan.train_gan(
        imgs, name="full", size=32, steps=5, seed=2, quiet=True, recipe=recipe, evaluate_after=False, device="cpu"
    )

    def stop(step: int, stats: dict[str, float]) -> None:
        if step == 2:
            raise KeyboardInterrupt

    from brushwork.training import gan as tg

    orig = tg.train_gan_run

    def with_stop(**kw: object) -> Path:
        return orig(**kw, on_step=stop)  # type: ignore[arg-type]

    tg_run = gan.train_gan_run
    gan.train_gan_run = with_stop  # type: ignore[assignment]
    try:
        with pytest.raises(BrushworkError, match="--resume"):
            gan.train_gan(
                imgs, name="r", size=32, steps=5, seed=2, quiet=True, recipe=recipe, evaluate_after=False, device="cpu"
            )
    finally:
        gan.train_gan_run = tg_run  # type: ignore[assignment]
    resumed = gan.train_gan(
        imgs, name="r", size=32, steps=5, seed=2, quiet=True, resume=True, evaluate_after=False, device="cpu"
    )
    a, b = weights(full), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    if arch == "fastgan":  # its discriminator's self-supervised task ran, and the model loads back
        stats = (tmp_path / "home" / "runs" / "gan-full" / "stats.jsonl").read_text()
        assert '"recon"' in stats
        assert gan.generate("full", 2).shape == (2, 3, 32, 32)


def test_cli_gan_train_sample_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imgs = make_images(tmp_path / "imgs", 4, seed=1)
    sets = [x for k, v in TINY.items() for x in ("--set", f"{k}={json.dumps(v)}")]
    assert main(["gan", "train", str(imgs), "--name", "g", "--size", "32", "--steps", "3", "--quiet", *sets]) == 0
    assert json.loads((runs_dir() / "gan-g" / "eval.json").read_text())["samples"] > 0  # measured when done
    assert (
        main(["gan", "sample", "g", "-n", "3", "--out", str(tmp_path / "s"), "--seed", "5", "--truncation", "1.5"]) == 0
    )
    files = sorted((tmp_path / "s").glob("*.png"))
    assert len(files) == 3 and Image.open(files[0]).size == (32, 32)
    again = gan.generate("g", 3, seed=5, truncation=1.5)
    assert torch.equal(again, gan.generate("g", 3, seed=5, truncation=1.5))  # same seed, same samples
    assert main(["gan", "sample", "g", "-n", "3", "--out", str(tmp_path / "s"), "--interpolate"]) == 0
    assert (tmp_path / "s" / "sample_walk.gif").exists()
    capsys.readouterr()
    assert main(["gan", "eval", "g", "--samples", "12"]) == 0
    report = capsys.readouterr().out
    assert "sliced Wasserstein" in report and "Frechet distance" in report


def test_metrics() -> None:
    x = torch.rand(16, 3, 32, 32) * 2 - 1
    y = torch.rand(16, 3, 32, 32) * 2 - 1  # same distribution: only sampling noise
    smooth = torch.nn.functional.avg_pool2d(y, 3, 1, 1)  # a different texture
    assert swd_distance(x, y) < swd_distance(x, smooth) / 3
    assert swd_distance(x, y) == swd_distance(x, y)  # fixed seed: deterministic
    d, idx = nearest_distances(x[:4], x)
    assert torch.allclose(d, torch.zeros(4), atol=1e-5) and idx.tolist() == [0, 1, 2, 3]


def test_generator_padding_and_models_saved_before_it() -> None:
    """The generator reflects at the border and upsamples bilinearly by default (zero padding
    taught it a dark frame); a model file from before these options, which names neither, is
    rebuilt zero-padded and nearest-upsampled, as it was trained."""
    from brushwork import nets

    g = nets.create("noise_generator", "dcgan", size=16, z_dim=8, ngf=4)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.padding_mode == "reflect" for c in convs)
    assert all(m.mode == "bilinear" for m in g.modules() if isinstance(m, torch.nn.Upsample))
    old = nets.upgrade_kwargs("noise_generator", "dcgan", {"size": 16, "z_dim": 8, "ngf": 4}, set())
    assert old["pad"] == "zeros" and old["upsample"] == "nearest"
    assert nets.upgrade_kwargs("noise_generator", "dcgan", {"size": 16, "pad": "reflect"}, set())["pad"] == "reflect"
    with pytest.raises(ValueError, match="pad"):
        nets.create("noise_generator", "dcgan", size=16, pad="mirror")


def test_grid_artifacts_see_a_frame_and_a_checkerboard() -> None:
    """Images like the real ones read no frame and a checkerboard ratio near 1; a dark border
    reads as a negative frame in levels, and a 2-px checkerboard laid over them multiplies
    the power at that period."""
    from brushwork.metrics import grid_artifacts

    gen = torch.Generator().manual_seed(0)
    real = torch.nn.functional.avg_pool2d(torch.randn(32, 3, 36, 36, generator=gen), 5, 1).clamp(-1, 1)
    same = torch.nn.functional.avg_pool2d(torch.randn(32, 3, 36, 36, generator=gen), 5, 1).clamp(-1, 1)
    plain = grid_artifacts(same, real)
    assert abs(plain["frame"]) < 3 * plain["frame_se"] and 0.5 < plain["checkerboard"] < 2
    framed = same.clone()
    framed[..., :2, :] = framed[..., -2:, :] = framed[..., :, :2] = framed[..., :, -2:] = -0.8
    dark = grid_artifacts(framed, real)
    assert dark["frame"] < -20 and dark["frame"] < -10 * dark["frame_se"]
    assert all(v < -20 for v in dark["frame_sides"].values())
    bottom = same.clone()
    bottom[..., -2:, :] = -0.8  # only the bottom edge dark: the sides say which
    sides = grid_artifacts(bottom, real)["frame_sides"]
    assert sides["bottom"] < -20 and min(sides[k] for k in ("top", "left", "right")) > sides["bottom"] / 5
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    checker = ((yy + xx) % 2).float() * 0.2 - 0.1
    assert grid_artifacts((same + checker).clamp(-1, 1), real)["checkerboard"] > 10
