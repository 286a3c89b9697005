"""The style folder format: ``style.json`` + ``generator.safetensors`` + ``preview.png``.

A style describes itself: the JSON names the generator family and its arguments, so
``load_style(path)`` rebuilds the network with no other flags. Loading reads only
safetensors and JSON; nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from . import nets
from .errors import BrushworkError, StyleNotFoundError
from .schema import FORMAT_VERSION, GeneratorSpec, check_weights_header, read_json, validate_meta

STYLE_JSON = "style.json"
WEIGHTS = "generator.safetensors"
PREVIEW = "preview.png"


def is_style_dir(path: str | os.PathLike[str]) -> bool:
    p = Path(path)
    return (p / STYLE_JSON).is_file() and (p / WEIGHTS).is_file()


def save_style(
    dest: str | os.PathLike[str], generator: str, generator_kwargs: dict[str, Any],
    weights: dict[str, torch.Tensor], summary: dict[str, Any], preview: Image.Image | None,
    replace: bool = False, kind: str = "generator",
) -> Path:  # fmt: skip
    """Write a style folder atomically: built in a temporary sibling, then renamed."""
    dest = Path(dest)
    if dest.exists() and not replace:
        raise BrushworkError(f"{dest} already exists; choose another name or remove it first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        meta = {
            "format": "brushwork-style",
            "format_version": FORMAT_VERSION,
            "generator": {"name": generator, "kwargs": generator_kwargs, "kind": kind},
            "training": summary,
        }
        validate_meta(str(dest / STYLE_JSON), json.loads(json.dumps(meta)))  # what a reader will check
        (tmp / STYLE_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(tmp / WEIGHTS))
        if preview is not None:
            preview.save(tmp / PREVIEW)
        move_into_place(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def move_into_place(tmp: Path, dest: Path) -> None:
    """Rename the complete folder ``tmp`` (a sibling of ``dest``) to ``dest``; an existing
    ``dest`` is set aside first and removed only once the new one is in place."""
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dest)


def _read_validated(p: Path) -> tuple[dict[str, Any], GeneratorSpec]:
    """``style.json`` of a style folder and its validated generator spec (``schema.py``)."""
    if not is_style_dir(p):
        raise StyleNotFoundError(f"{p}: not a style folder (needs {STYLE_JSON} and {WEIGHTS})")
    meta = read_json(p, STYLE_JSON)
    if not isinstance(meta, dict) or meta.get("format") != "brushwork-style":
        raise BrushworkError(f"{p / STYLE_JSON}: not a brushwork style file")
    return meta, validate_meta(str(p / STYLE_JSON), meta).generator


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``style.json`` of a style folder, validated (``schema.py``)."""
    return _read_validated(Path(path))[0]


def load_style(path: str | os.PathLike[str]) -> tuple[nets.StyleGenerator, dict[str, Any]]:
    """Rebuild a style's generator from its folder -> (``nets.StyleGenerator`` in eval mode,
    metadata); a folder holding another kind of network (a GAN's) is an error."""
    net, meta = load_model(path)
    if not isinstance(net, nets.StyleGenerator):
        raise BrushworkError(f"{Path(path) / STYLE_JSON}: not a style (a {type(net).__name__} network)")
    return net, meta


def load_model(path: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network of a style or GAN folder -> (module in eval mode, metadata).

    Nothing is allocated before the JSON is validated and the weights' header is bounded."""
    p = Path(path)
    meta, spec = _read_validated(p)
    check_weights_header(p, WEIGHTS)
    try:
        state = load_file(str(p / WEIGHTS))
    except (OSError, ValueError, SafetensorError) as exc:
        raise BrushworkError(f"{p / WEIGHTS}: weights do not load ({exc})") from exc
    try:
        kwargs = nets.upgrade_kwargs(spec.kind, spec.name, dict(spec.kwargs), set(state))
        net = (
            nets.create_generator(spec.name, **kwargs)
            if spec.kind == "generator"
            else nets.create(spec.kind, spec.name, **kwargs)
        )
    except (TypeError, ValueError) as exc:
        raise BrushworkError(f"{p / STYLE_JSON}: cannot build generator ({exc})") from exc
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise BrushworkError(f"{p / WEIGHTS}: weights do not match the generator ({str(exc).splitlines()[0]})") from exc
    return net.eval().requires_grad_(False), meta
