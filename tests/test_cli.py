"""The command line, end to end at tiny sizes: train -> apply -> styles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brushwork.cli import main
from brushwork.library import resolve

TINY_SET = [
    "--set", "generator_kwargs={\"ngf\": 4, \"n_blocks\": 1, \"lut_size\": 5}", "--set", "d_ndf=8",
    "--set", "num_patches=16", "--set", "max_side=64", "--set", "precision=\"fp32\"", "--generator", "lite",
]  # fmt: skip


def test_train_apply_styles(
    tmp_path: Path, photo_dir: Path, style_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "train",
            str(style_dir),
            "--content",
            str(photo_dir),
            "--name",
            "tiny",
            "--steps",
            "2",
            "--size",
            "32",
            "--quiet",
            *TINY_SET,
        ]
    )
    assert rc == 0
    out_text = capsys.readouterr().out
    assert "style 'tiny' saved" in out_text and "learned from pseudo-pairs" in out_text  # the default teacher

    # a folder with a nested image, a broken file, and a single file input
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    Image.fromarray(np.zeros((21, 17, 3), np.uint8)).save(inputs / "sub" / "a.jpg")
    Image.fromarray(np.zeros((9, 12, 3), np.uint8)).save(inputs / "b.png")
    (inputs / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    rc = main(["apply", "tiny", str(inputs), "--out", str(out), "--format", "jpg", "--quiet"])
    captured = capsys.readouterr()
    assert rc == 1  # one input failed
    assert "broken.png" in captured.err
    assert Image.open(out / "sub" / "a.jpg").size == (17, 21)
    assert Image.open(out / "b.jpg").size == (12, 9)

    # existing outputs are not replaced without --overwrite; inputs never
    rc = main(["apply", "tiny", str(inputs / "b.png"), "--out", str(out), "--format", "jpg", "--quiet"])
    assert rc == 1 and "already exists" in capsys.readouterr().err
    rc = main(["apply", "tiny", str(inputs / "b.png"), "--out", str(inputs), "--overwrite", "--quiet"])
    assert rc == 1 and "would replace an input" in capsys.readouterr().err
    assert Image.open(inputs / "b.png").getpixel((0, 0)) == (0, 0, 0)

    assert main(["styles", "list"]) == 0
    assert "tiny" in capsys.readouterr().out
    assert main(["styles", "show", "tiny"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["generator"]["name"] == "lite" and shown["training"]["steps"] == 2
    assert main(["styles", "rm", "tiny"]) == 0
    capsys.readouterr()
    assert main(["apply", "tiny", str(inputs), "--out", str(out)]) == 2
    assert "no style 'tiny'" in capsys.readouterr().err


def test_train_errors_exit_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(tmp_path / "missing"), "--name", "x", "--steps", "1"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_dry_run_trains_nothing(
    photo_dir: Path, style_dir: Path, brushwork_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", str(style_dir), "--content", str(photo_dir), "--name", "d", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "dry run: 4 content photos, 3 style images" in err
    # --generator auto (the default) says which family it chose and why, before anything trains
    assert "generator lite: local structure explains" in err and "generator lite;" in err
    assert not (brushwork_home / "styles" / "d").exists()


def test_apply_controls_export_and_metadata(
    tmp_path: Path, photo_dir: Path, style_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "train",
                str(style_dir),
                "--content",
                str(photo_dir),
                "--name",
                "t",
                "--steps",
                "1",
                "--size",
                "32",
                "--quiet",
                *TINY_SET,
            ]
        )
        == 0
    )
    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # camera make
    Image.fromarray(np.full((40, 60, 3), 120, np.uint8)).save(src, exif=exif.tobytes(), icc_profile=b"fake-icc")
    out = tmp_path / "o"
    rc = main(
        ["apply", "t", str(src), "--out", str(out), "--format", "jpg", "--strength", "0", "--max-side", "30", "--quiet"]
    )
    assert rc == 0
    res = Image.open(out / "photo.jpg")
    assert res.size == (30, 20)
    assert res.getexif()[0x010F] == "TestCam" and res.info.get("icc_profile") == b"fake-icc"
    assert abs(np.asarray(res).astype(int) - 120).max() <= 3  # strength 0 gives the photo back
    capsys.readouterr()
    assert main(["export", "t", "--format", "onnx", "--out", str(tmp_path / "t.onnx")]) == 0
    assert (tmp_path / "t.onnx").stat().st_size > 0
    assert main(["export", "t", "--format", "onnx", "--out", str(tmp_path / "t.onnx")]) == 2
    # a style with a vignette: the exported file carries it, and says so
    meta_path = resolve("t") / "style.json"
    meta = json.loads(meta_path.read_text())
    meta["training"]["vignette"] = [-0.3, 0.0]
    meta_path.write_text(json.dumps(meta))
    capsys.readouterr()
    assert main(["export", "t", "--format", "onnx", "--out", str(tmp_path / "v.onnx")]) == 0
    assert "the vignette" in capsys.readouterr().out  # exported with the style, not left out
    out2 = tmp_path / "o2"
    assert (
        main(["apply", "t", str(src), "--out", str(out2), "--backend", "onnxruntime", "--tile", "16", "--quiet"]) == 0
    )
    assert (out2 / "photo.png").exists()


def test_apply_without_ray_never_imports_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    from conftest import make_images, trained_like_lite

    from brushwork.stylefile import save_style

    style = save_style(tmp_path / "style", "lite", {}, trained_like_lite().state_dict(), {}, None)
    make_images(tmp_path / "in", 2, seed=0)
    code = (
        "import sys; from brushwork.cli import main; "
        f"rc = main(['apply', {str(style)!r}, {str(tmp_path / 'in')!r}, '--out', {str(tmp_path / 'out')!r}, '--quiet']); "
        "print(rc, 'ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == ["0", "False"]


def test_the_end_of_training_says_how_to_keep_a_colour_move_the_start_shrank() -> None:
    """Where the colour start kept little of the move between the sets, the end of training
    says so and names the option that keeps it whole; a start kept nearly whole, or a style
    without one (the painter), says nothing about it."""
    from brushwork.report import training_notes

    shrunk = "\n".join(training_notes({"colour_start_kept": 0.141}))
    assert "kept 14%" in shrunk and "--set colour_shrink=false" in shrunk
    assert "colour_shrink" not in "\n".join(training_notes({"colour_start_kept": 0.93}))
    assert "colour_shrink" not in "\n".join(training_notes({"colour_start_kept": None, "pseudo_pairs": "structure"}))
