"""Export a style to ONNX or TorchScript, with dynamic height and width, and run exported
ONNX graphs with ONNX Runtime (``--backend onnxruntime``).

An exported style is the whole style for a whole picture: the generator, then its texture
locked to the frame (a screen's dots or hatching, grain) and the frame's vignette, as
``brushwork apply`` draws them, so running the file needs nothing of brushwork. It runs at
the scale the style learned at (photos several times larger than its training images get
pixel-sized operators at that scale; ``brushwork apply`` scales them)."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import BrushworkError
from .io import atomic_path
from .look.vignette import apply_vignette
from .nets.contract import StyleGenerator

FORMATS = ("onnx", "torchscript")
OPSET = 20  # GridSample on 5-D inputs (the colour LUT) needs opset 20


class WholeStyle(nn.Module):
    """A style's generator followed by what the style does over the whole frame: its
    frame-locked texture at each pixel's place (``texture(y, 0, 0)``) and its vignette."""

    def __init__(self, generator: nn.Module, vignette: tuple[float, float] = (0.0, 0.0)) -> None:
        super().__init__()
        self.generator = generator
        self.vignette = (float(vignette[0]), float(vignette[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.generator(x)
        if isinstance(self.generator, StyleGenerator) and self.generator.has_texture:
            y = self.generator.texture(y, 0, 0)
        return apply_vignette(y, self.vignette)  # unchanged where the style has none


def export_generator(
    generator: nn.Module, fmt: str, dest: str | os.PathLike[str], vignette: tuple[float, float] = (0.0, 0.0),
    network_only: bool = False,
) -> Path:  # fmt: skip
    """Write the style of ``generator`` and ``vignette`` (float32, CPU) as ``fmt`` to ``dest``
    atomically: the network, its frame-locked texture and the vignette (``WholeStyle``), or
    with ``network_only`` the network alone (what the ONNX Runtime backend runs per tile)."""
    if fmt not in FORMATS:
        raise BrushworkError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    net = generator.float().cpu().eval()
    g = net if network_only else WholeStyle(net, vignette).eval()
    example = torch.rand(1, 3, 64, 96) * 2 - 1
    dest = Path(dest)
    with atomic_path(dest) as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python ints in shape arithmetic
        if fmt == "onnx":
            torch.onnx.export(
                g, (example,), str(tmp), input_names=["image"], output_names=["styled"],
                dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}, "styled": {0: "batch", 2: "height", 3: "width"}},
                opset_version=OPSET, dynamo=False,
            )  # fmt: skip
        else:
            traced = torch.jit.trace(g, example, check_trace=False)
            torch.jit.save(traced, str(tmp))
    return dest


def onnx_runner(
    generator: nn.Module, cache_dir: Path, threads: int | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """An ONNX Runtime session for ``generator`` (exported once into ``cache_dir``, keyed by
    a hash of its weights and its forward-pass ``settings()``) -> a function [B, 3, H, W] tensor -> tensor."""
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise BrushworkError("--backend onnxruntime needs the onnxruntime package") from exc
    h = hashlib.sha256()
    settings = generator.settings() if isinstance(generator, StyleGenerator) else {}
    h.update(repr(sorted(settings.items())).encode())  # forward-pass settings, not weights
    for k, v in generator.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    path = cache_dir / f"{h.hexdigest()[:24]}.onnx"
    if not path.exists():
        export_generator(generator, "onnx", path, network_only=True)
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def run(x: torch.Tensor) -> torch.Tensor:
        y = session.run(None, {"image": np.ascontiguousarray(x.float().cpu().numpy())})[0]
        return torch.from_numpy(y)

    return run
