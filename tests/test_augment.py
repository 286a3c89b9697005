"""Dataset augmentation: stylized copies (library styles, or a look learned from a folder),
generated images, the manifest, and the on-the-fly transform."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_images
from PIL import Image

from brushwork import library, nets
from brushwork.augment import StyleAugment, augment
from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.stylefile import save_style

LITE = {"ngf": 4, "n_blocks": 1, "lut_size": 5}
GAN_TINY = {"width": 4, "z_dim": 8, "batch": 4, "sample_every": 2, "checkpoint_every": 2, "precision": "fp32",
            "max_side": 64}  # fmt: skip


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    make_images(data / "cats", 3, seed=1)
    make_images(data / "dogs", 2, seed=2)
    return data


@pytest.fixture
def two_styles() -> list[str]:
    """Two lite styles in the library, their weights moved off the identity (two seeds)."""
    for seed, name in ((0, "warm"), (1, "cold")):
        torch.manual_seed(seed)
        g = nets.create("generator", "lite", **LITE)
        with torch.no_grad():
            for p in g.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        save_style(library.styles_dir() / name, "lite", LITE, g.state_dict(), {}, None)
    return ["warm", "cold"]


def test_stylize_with_library_styles(dataset: Path, two_styles: list[str], tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in dataset.rglob("*.png")}
    out = augment(dataset, tmp_path / "aug", styles=two_styles, copies=2, seed=3, quiet=True)
    rows = rows_of(out)
    originals = [r for r in rows if not r["synthetic"]]
    styled = [r for r in rows if r["synthetic"]]
    assert len(originals) == 5 and len(styled) == 10  # every image, twice
    assert all((out / r["file"]).exists() for r in rows)
    assert {r["class"] for r in styled} == {"cats", "dogs"}
    assert all(Path(r["file"]).parts[0] == r["class"] for r in rows)  # class folders kept
    assert {r["style"] for r in styled} <= set(two_styles)
    # an original is byte for byte the source; a stylized copy is its source's size, not its pixels
    r = originals[0]
    assert (out / r["file"]).read_bytes() == Path(r["source"]).read_bytes()
    s = styled[0]
    a, b = Image.open(out / s["file"]), Image.open(s["source"])
    assert a.size == b.size and not np.array_equal(np.asarray(a), np.asarray(b.convert("RGB")))
    assert {p: p.read_bytes() for p in dataset.rglob("*.png")} == before  # the source is untouched
    # the same seed again chooses the same styles for the same files
    again = augment(dataset, tmp_path / "aug2", styles=two_styles, copies=2, seed=3, quiet=True)
    assert [(r["file"], r.get("style")) for r in rows_of(again)] == [(r["file"], r.get("style")) for r in rows]


def test_stylize_mix_no_originals_and_refusals(dataset: Path, two_styles: list[str], tmp_path: Path) -> None:
    out = augment(dataset, tmp_path / "half", styles=["warm"], mix=0.5, originals=False, seed=0, quiet=True)
    rows = rows_of(out)
    assert all(r["synthetic"] for r in rows) and 0 < len(rows) < 5
    with pytest.raises(BrushworkError, match="overlaps the source"):
        augment(dataset, dataset / "more", styles=["warm"])
    with pytest.raises(BrushworkError, match="not empty"):
        augment(dataset, out, styles=["warm"])  # nothing already there is replaced
    with pytest.raises(BrushworkError, match="--style NAME"):
        augment(dataset, tmp_path / "x", mode="stylize")
    with pytest.raises(BrushworkError, match="no-such-style"):
        augment(dataset, tmp_path / "y", styles=["warm", "no-such-style"])
    with pytest.raises(BrushworkError, match="one sub-folder of images per class"):
        augment(dataset / "cats", tmp_path / "z", styles=["warm"])


def test_stylize_skips_an_unreadable_file_and_reports_it(
    dataset: Path, two_styles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (dataset / "cats" / "broken.png").write_bytes(b"not a png")
    out = augment(dataset, tmp_path / "aug", styles=["cold"], originals=False, quiet=True)
    assert len(rows_of(out)) == 5  # the five readable images
    assert "broken.png" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_learns_a_look_from_a_folder_then_stylizes(dataset: Path, tmp_path: Path) -> None:
    look = make_images(tmp_path / "scans", 3, seed=9, tint=(40, 40, -60))
    code = main(["augment", str(dataset), "--out", str(tmp_path / "aug"), "--mode", "stylize", "--look", str(look),
                 "--steps", "2", "--set", "generator_kwargs={\"ngf\": 4, \"n_blocks\": 1, \"lut_size\": 5}",
                 "--set", "max_side=64", "--set", "report=false", "--set", "precision=\"fp32\"", "--quiet"])  # fmt: skip
    assert code == 0
    rows = rows_of(tmp_path / "aug")
    styled = [r for r in rows if r["synthetic"]]
    assert len(styled) == 5 and {r["style"] for r in styled} == {"look-scans"}
    assert (Path(styled[0]["style_path"]) / "style.json").exists()  # the learned look stays in the library


def test_style_augment_transform(two_styles: list[str]) -> None:
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8))

    def draws(aug: StyleAugment) -> list[bytes]:
        return [np.asarray(aug(img)).tobytes() for _ in range(6)]

    a = StyleAugment(two_styles, p=0.5, strength=(0.5, 1.0), seed=7)
    b = StyleAugment(two_styles, p=0.5, strength=(0.5, 1.0), seed=7)
    out_a = draws(a)
    assert out_a == draws(b)  # same seed, same images
    plain = np.asarray(img).tobytes()
    assert plain in out_a and any(o != plain for o in out_a)  # p=0.5: some kept, some stylized
    assert all(np.asarray(StyleAugment(["warm"], p=0.0)(img)).tobytes() == plain for _ in range(3))
    t = torch.rand(3, 24, 32) * 2 - 1  # tensors in, tensors out
    y = StyleAugment(["warm"], p=1.0)(t)
    assert torch.is_tensor(y) and y.shape == t.shape
    with pytest.raises(BrushworkError, match="strength"):
        StyleAugment(["warm"], strength=(0.8, 0.2))


def test_style_augment_in_data_loader_workers(two_styles: list[str]) -> None:
    class Images(torch.utils.data.Dataset[torch.Tensor]):
        def __len__(self) -> int:
            return 8

        def __getitem__(self, i: int) -> torch.Tensor:
            return aug(torch.zeros(3, 16, 16))

    aug = StyleAugment(two_styles, p=0.5, seed=1)
    loader = torch.utils.data.DataLoader(Images(), batch_size=1, num_workers=2)
    first = [b.sum().item() for b in loader]
    assert first == [b.sum().item() for b in loader]  # reproducible with workers
    per_worker = first[0::2], first[1::2]  # workers take alternate items: their streams differ
    assert per_worker[0] != per_worker[1]


def test_generate_layout_manifest_and_unique_models(dataset: Path, tmp_path: Path) -> None:
    out = augment(dataset, tmp_path / "aug", per_class=2, steps=2, size=32, quiet=True,  # mode from --per-class
                  recipe=GAN_TINY, originals=False, check=False)  # fmt: skip
    rows = rows_of(out)
    assert len(rows) == 4 and {r["class"] for r in rows} == {"cats", "dogs"}
    assert all(r["synthetic"] and r["model"] and "seed" in r for r in rows)
    assert all((out / r["file"]).exists() for r in rows)
    # the same dataset augmented again into a folder of the same name: new class generators
    again = augment(dataset, tmp_path / "other" / "aug", mode="generate", per_class=1, steps=1, size=32,
                    quiet=True, recipe=GAN_TINY, check=False)  # fmt: skip
    models = {r["model"] for r in rows_of(again) if r["synthetic"]}
    assert models.isdisjoint(r["model"] for r in rows) and len(models) == 2
    assert sum(not r["synthetic"] for r in rows_of(again)) == 5
    with pytest.raises(BrushworkError, match="--per-class"):
        augment(dataset, tmp_path / "none", mode="generate")


def _striped(n: int, horizontal: bool, seed: int) -> list[torch.Tensor]:
    """Stripes of random period, phase and colours: the class is their direction."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.arange(64.0)
    out = []
    for _ in range(n):
        period, phase = 4 + 8 * torch.rand((), generator=g), 6.3 * torch.rand((), generator=g)
        wave = torch.sin(ramp * 6.283 / period + phase)
        wave = wave[:, None].expand(64, 64) if horizontal else wave[None].expand(64, 64)
        a, b = torch.rand(3, 1, 1, generator=g), torch.rand(3, 1, 1, generator=g)
        out.append(((a + (b - a) * (wave + 1) / 2) * 2 - 1).clamp(-1, 1))
    return out


@pytest.mark.parametrize("samples_help", [True, False])
def test_held_out_check_keeps_only_samples_that_help(tmp_path: Path, samples_help: bool) -> None:
    """Samples drawn from the classes themselves are kept; samples of the other class are not
    (they would teach the wrong label): the check measures, it does not always say yes or no."""
    from brushwork.augment import held_out_check
    from brushwork.io import save_image_atomic, tensor_to_pil

    files, held, samples = {}, {}, {}
    for k, horizontal in enumerate((True, False)):
        cls = tmp_path / f"c{k}"
        paths = []
        for i, t in enumerate(_striped(8, horizontal, seed=k)):
            paths.append(cls / f"{i}.png")
            save_image_atomic(tensor_to_pil(t), paths[-1])
        files[cls], held[cls] = paths, paths[:6]  # 2 to fit on, 6 held out
        extra = torch.stack(_striped(16, horizontal == samples_help, seed=10 + k))
        samples[cls] = extra
    keep, report = held_out_check(files, held, samples, [])
    assert report["held_out"] == 12 and [r["per_class"] for r in report["counts"]] == [0, 4, 8, 16]
    if samples_help:
        assert keep > 0 and report["kept_per_class"] == keep
        assert all(r["gain_lower_bound"] > 0.05 for r in report["counts"][1:])
    else:
        assert keep == 0 and all(r["mean_gain"] < 0 for r in report["counts"][1:])


def test_generate_check_writes_its_scores(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    more = tmp_path / "more"
    make_images(more / "cats", 4, seed=1)
    make_images(more / "dogs", 4, seed=2)
    out = augment(more, tmp_path / "aug", per_class=4, steps=2, size=32, quiet=True, recipe=GAN_TINY)
    report = json.loads((out / "check.json").read_text())
    kept = report["kept_per_class"]
    assert report["held_out"] == 2 and kept in (0, 1, 2, 4)
    # each class generator trained on the 3 images not held out, kept with its run (gan eval, --resume)
    for cls in ("cats", "dogs"):
        opts = json.loads((library.runs_dir() / f"gan-augment-aug-{cls}-0" / "training_options.json").read_text())
        assert len(list(Path(opts["sources"]["images_dir"]).glob("*.png"))) == 3
    assert sum(r["synthetic"] for r in rows_of(out)) == 2 * kept and sum(not r["synthetic"] for r in rows_of(out)) == 8
    # too few images to hold any out (2 dogs): a warning, and the samples as asked
    out = augment(dataset, tmp_path / "few", per_class=1, steps=1, size=32, quiet=True, recipe=GAN_TINY,
                  originals=False)  # fmt: skip
    assert "no held-out check" in capsys.readouterr().err
    assert not (out / "check.json").exists() and len(rows_of(out)) == 2
    with pytest.raises(BrushworkError, match="say what to add"):
        augment(dataset, tmp_path / "neither")
    # the command line: --no-check writes every sample, no check.json
    sets = [a for k, v in GAN_TINY.items() for a in ("--set", f"{k}={json.dumps(v)}")]
    code = main(["augment", str(more), "--out", str(tmp_path / "cli"), "--per-class", "2", "--steps", "1",
                 "--size", "32", "--no-check", "--no-originals", "--quiet", *sets])  # fmt: skip
    assert code == 0 and len(rows_of(tmp_path / "cli")) == 4 and not (tmp_path / "cli" / "check.json").exists()
