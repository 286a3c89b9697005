"""Export a style's generator to ONNX or TorchScript, with dynamic height and width, and
run exported ONNX graphs with ONNX Runtime (``--backend onnxruntime``)."""

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

FORMATS = ("onnx", "torchscript")
OPSET = 20  # GridSample on 5-D inputs (the colour LUT) needs opset 20


def export_generator(generator: nn.Module, fmt: str, dest: str | os.PathLike[str]) -> Path:
    """Write ``generator`` (float32, CPU) as ``fmt`` to ``dest`` atomically."""
    if fmt not in FORMATS:
        raise BrushworkError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    g = generator.float().cpu().eval()
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
    settings = generator.settings() if hasattr(generator, "settings") else {}
    h.update(repr(sorted(settings.items())).encode())  # forward-pass settings, not weights
    for k, v in generator.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    path = cache_dir / f"{h.hexdigest()[:24]}.onnx"
    if not path.exists():
        export_generator(generator, "onnx", path)
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def run(x: torch.Tensor) -> torch.Tensor:
        y = session.run(None, {"image": np.ascontiguousarray(x.float().cpu().numpy())})[0]
        return torch.from_numpy(y)

    return run
