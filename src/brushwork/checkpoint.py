"""Checkpoints and model files as safetensors + JSON: nothing is ever unpickled.

A nested state (dicts, lists, numbers, strings, tensors) is split into a flat dict of
tensors and a JSON tree that refers to them, stored together in one .safetensors file
(the JSON goes into the header's metadata), written atomically.
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .errors import BrushworkError
from .io import atomic_path

_REF = "__tensor__"


def _flatten(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    if torch.is_tensor(obj):
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {_REF: key}
    if isinstance(obj, dict):
        return {
            "__dict__": [
                [_flatten(k, f"{key}/k{i}", tensors), _flatten(v, f"{key}/{i}", tensors)]
                for i, (k, v) in enumerate(obj.items())
            ]
        }
    if isinstance(obj, (list, tuple)):
        return {
            "__list__": [_flatten(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)],
            "tuple": isinstance(obj, tuple),
        }
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {key} in a checkpoint")


def _unflatten(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(tree, dict):
        if _REF in tree:
            return tensors[tree[_REF]]
        if "__dict__" in tree:
            return {_unflatten(k, tensors): _unflatten(v, tensors) for k, v in tree["__dict__"]}
        if "__list__" in tree:
            items = [_unflatten(v, tensors) for v in tree["__list__"]]
            return tuple(items) if tree.get("tuple") else items
    return tree


def save_state(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a nested state atomically to ``path`` (.safetensors)."""
    tensors: dict[str, torch.Tensor] = {}
    tree = _flatten(state, "s", tensors)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"brushwork_state": json.dumps(tree)})


def load_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise BrushworkError(f"{path}: not a readable checkpoint ({exc})") from exc
    if "brushwork_state" not in meta:
        raise BrushworkError(f"{path}: not a brushwork checkpoint (no state header)")
    return _unflatten(json.loads(meta["brushwork_state"]), tensors)
