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
