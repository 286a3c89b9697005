"""Export parity: ONNX (through ONNX Runtime) and TorchScript against PyTorch on two sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import trained_like_lite

from brushwork import Stylizer, library
from brushwork.export import export_generator
from brushwork.stylefile import save_style


@pytest.fixture(
    params=[(False, True, 1.0), (True, False, 1.0), (True, True, 1.0), (True, False, 0.0), (True, True, 0.0)],
    ids=["lite", "lite+smoothing", "lite+structure", "lite+smoothing,detail=0", "lite+structure,detail=0"],
)
def style(brushwork_home: Path, request: pytest.FixtureRequest) -> Path:
    # detail 0: how small unpaired sets' styles are saved (with lines where calibration drew them)
    structure, lines, detail = request.param
    g = trained_like_lite(structure, lines)
    kwargs = {"structure": structure, "lines": lines, "detail": detail}
    return save_style(library.styles_dir() / "s", "lite", kwargs, g.state_dict(), {}, None)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_parity(style: Path, tmp_path: Path, fmt: str) -> None:
    st = Stylizer.load(style, device="cpu", precision="fp32")
    path = export_generator(st.generator, fmt, tmp_path / f"g.{fmt}")
    if fmt == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        def run(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(sess.run(None, {"image": x.numpy()})[0])
    else:
        mod = torch.jit.load(str(path))

        def run(x: torch.Tensor) -> torch.Tensor:
            return mod(x)

    for hw in [(64, 96), (131, 77)]:
        x = torch.rand(1, 3, *hw) * 2 - 1
        with torch.no_grad():
            want = st.generator(x)
            got = run(x)
        assert got.shape == want.shape
        assert (got - want).abs().max() <= 1e-3


def test_onnxruntime_backend_gives_the_same_image(style: Path) -> None:
    img = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    a = Stylizer.load(style, device="cpu", precision="fp32")(img)
    b = Stylizer.load(style, device="cpu", backend="onnxruntime")(img)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_onnxruntime_backend_at_a_structure_scale(brushwork_home: Path) -> None:
    """A photo 3x the style's training size: the exported graph for that scale (its own
    cache entry) gives the PyTorch result, tiles included."""
    g = trained_like_lite(True, True)
    kwargs = {"structure": True, "lines": True, "detail": 0.0}
    path = save_style(library.styles_dir() / "scaled", "lite", kwargs, g.state_dict(), {"work_side": 32}, None)
    img = (np.random.default_rng(1).random((90, 101, 3)) * 255).astype(np.uint8)
    a = Stylizer.load(path, device="cpu", precision="fp32")
    b = Stylizer.load(path, device="cpu", backend="onnxruntime")
    assert a.structure_scale(90, 101) == 3
    for tile in (None, 64):
        a.tile = b.tile = tile
        assert np.abs(a(img).astype(int) - b(img).astype(int)).max() <= 1
    assert len(list((brushwork_home / "cache" / "onnx").glob("*.onnx"))) == 2  # scale 1 (at load) and 3


RUN_ONNX_ALONE = """
import sys
import numpy as np
import onnxruntime as ort
from PIL import Image

model, photo, out = sys.argv[1:4]
x = np.asarray(Image.open(photo).convert("RGB"), np.float32).transpose(2, 0, 1)[None] / 127.5 - 1
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
y = session.run(None, {"image": x})[0][0].transpose(1, 2, 0)
Image.fromarray(np.clip(np.round((y + 1) * 127.5), 0, 255).astype(np.uint8)).save(out)
assert not any(m.startswith("brushwork") for m in sys.modules), "the exported style needs brushwork"
"""


def test_exported_onnx_is_the_whole_style(brushwork_home: Path, tmp_path: Path) -> None:
    """A style with a vignette, a screen and grain, exported by the command line and run by
    ONNX Runtime alone (a fresh process that never imports brushwork) on a whole photo,
    gives what ``brushwork apply`` writes, within one 8-bit level."""
    import subprocess
    import sys

    from PIL import Image

    from brushwork import nets
    from brushwork.cli import main
    from brushwork.data import builtin_dir

    screen = [0.12, 0.05, -0.05, 0.12, 0.2, 0.0]
    g = nets.create("generator", "lite", structure=True, lines=True, detail=0.0, screen=screen, grain=True)
    with torch.no_grad():
        g.grain.amount.fill_(0.06)
        torch.nn.init.normal_(g.screen.fc2.weight, generator=torch.Generator().manual_seed(0), std=0.3)
        g.structure.ink.copy_(torch.tensor([0.0, 0.5]))
    kwargs = {"structure": True, "lines": True, "detail": 0.0, "screen": screen, "grain": True}
    save_style(
        library.styles_dir() / "printed", "lite", kwargs, g.state_dict(), {"training": {"vignette": [-0.4, 0.0]}}, None
    )
    photo = sorted(builtin_dir("photos").glob("*.jpg"))[0]
    assert main(["apply", "printed", str(photo), "--out", str(tmp_path / "applied"), "--format", "png"]) == 0
    assert main(["export", "printed", "--format", "onnx", "--out", str(tmp_path / "printed.onnx")]) == 0
    run = subprocess.run(
        [sys.executable, "-c", RUN_ONNX_ALONE, str(tmp_path / "printed.onnx"), str(photo), str(tmp_path / "onnx.png")],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    applied = np.asarray(Image.open(tmp_path / "applied" / f"{photo.stem}.png"), dtype=int)
    exported = np.asarray(Image.open(tmp_path / "onnx.png"), dtype=int)
    assert applied.shape == exported.shape
    assert np.abs(applied - exported).max() <= 1
    # the texture and the vignette are there: the style differs from its network alone
    net = Stylizer.load(library.styles_dir() / "printed", device="cpu", precision="fp32").generator
    with torch.no_grad():
        x = torch.from_numpy(np.asarray(Image.open(photo).convert("RGB"), np.float32)).permute(2, 0, 1)[None]
        alone = ((net(x / 127.5 - 1)[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().numpy()
    assert np.abs(alone - exported).mean() > 3
