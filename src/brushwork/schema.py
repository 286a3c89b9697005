"""What a style folder (or GAN model folder) may contain, checked before anything is built.

A style folder is a file from a stranger. ``style.json`` is validated against a schema
(pydantic: types, the known families, each family's own constructor arguments, bounded
sizes) and ``generator.safetensors``'s header is read and bounded before any tensor is
allocated; every failure is one line naming the file and the field.
"""

from __future__ import annotations

import inspect
import json
import math
import struct
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError

from .errors import BrushworkError

FORMAT_VERSION = 1
MAX_JSON_BYTES = 1 << 20  # a style.json is a few KB
MAX_HEADER_BYTES = 1 << 22  # the safetensors header: tensor names, shapes and offsets
MAX_WEIGHT_BYTES = 1 << 30  # the largest family (resnet, ngf 256) is far below this
MAX_TENSORS = 4096
DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}  # I64: batch norm step counters

# every numeric constructor argument of every family has a bound here (a test checks the
# registry against it), so a style file cannot ask for a network of unbounded size
KWARG_BOUNDS: dict[str, tuple[float, float]] = {
    "ngf": (1, 256), "ndf": (1, 512), "n_blocks": (0, 32), "blocks": (0, 16), "lut_size": (2, 65),
    "tone_knots": (0, 64), "detail": (0.0, 1.0), "size": (8, 1024), "z_dim": (1, 4096),
    "hidden": (1, 8192), "n_layers": (1, 8), "scales": (1, 4),
}  # fmt: skip

LIST_KWARGS = {"screen"}  # the arguments that are lists of numbers (bounded in check_kwargs)

Scalar = StrictBool | StrictInt | StrictFloat | str
# a list argument (lite's screen: spatial frequencies in cycles per pixel, fy and fx in turn)
Numbers = Annotated[list[StrictInt | StrictFloat], Field(max_length=16)]


class GeneratorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["generator", "noise_generator"] = "generator"
    kwargs: dict[str, Scalar | Numbers | None] = Field(default_factory=dict, max_length=32)


class StyleMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    format: Literal["brushwork-style"]
    format_version: StrictInt = Field(ge=1)
    generator: GeneratorSpec
    training: dict[str, Any] = Field(default_factory=dict)


def _field(err: dict[str, Any]) -> str:
    return ".".join(str(x) for x in err["loc"]) or "(top level)"


def check_like(label: str, current: Any, value: Any) -> Any:
    """``value`` for a setting whose default is ``current``, if it has that type (an int
    where a number is expected becomes a float); otherwise a clear error starting with
    ``label``. Used for style files' generator arguments and for recipe overrides."""

    def bad(kind: str) -> BrushworkError:
        return BrushworkError(f"{label} must be {kind}, got {value!r}")

    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise bad("a string (JSON, e.g. --set key='\"text\"')")
        return value
    if isinstance(current, tuple):
        if not isinstance(value, list | tuple) or len(value) != len(current):
            raise bad(f"a list of {len(current)} numbers")
        if any(isinstance(x, bool) or not isinstance(x, int | float) for x in value):
            raise bad(f"a list of {len(current)} numbers")
        return tuple(float(x) for x in value)
    if isinstance(current, dict):
        if not isinstance(value, dict):
            raise bad("an object")
        return value
    return value


def check_kwargs(where: str, spec: GeneratorSpec) -> None:
    """The family exists for its kind, and every argument is one of its constructor's, of
    the default's type, within bounds."""
    from . import nets

    if spec.name not in nets.names(spec.kind):
        known = ", ".join(nets.names(spec.kind))
        raise BrushworkError(f"{where}: generator.name {spec.name!r} is not a known {spec.kind} ({known})")
    params = inspect.signature(nets.registry._lookup(spec.kind, spec.name)).parameters
    for key, value in spec.kwargs.items():
        field = f"generator.kwargs.{key}"
        if key not in params or params[key].default is inspect.Parameter.empty:
            raise BrushworkError(f"{where}: {field} is not an argument of {spec.name}")
        check_like(f"{where}: {field}", params[key].default, value)
        if isinstance(value, list):
            if key not in LIST_KWARGS:
                raise BrushworkError(f"{where}: {field} cannot be a list")
            if len(value) % 2 or not all(math.isfinite(v) and abs(v) <= 0.5 for v in value):
                raise BrushworkError(f"{where}: {field} must be pairs of frequencies in [-0.5, 0.5], got {value!r}")
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            if key not in KWARG_BOUNDS:
                raise BrushworkError(f"{where}: {field} has no known bound")
            lo, hi = KWARG_BOUNDS[key]
            if not lo <= value <= hi:
                raise BrushworkError(f"{where}: {field} = {value!r} is outside [{lo:g}, {hi:g}]")


def validate_meta(where: str, meta: Any) -> StyleMeta:
    """``style.json``'s content -> the validated model, or a one-line error naming the field."""
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:  # a newer format may have other fields
        raise BrushworkError(
            f"{where}: style format {version} is newer than this brushwork supports ({FORMAT_VERSION}); upgrade brushwork"
        )
    try:
        model = StyleMeta.model_validate(meta)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise BrushworkError(f"{where}: {_field(err)}: {err['msg']}") from None
    check_kwargs(where, model.generator)
    return model


def _inside(folder: Path, path: Path) -> None:
    if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
        raise BrushworkError(f"{path}: a link to a file outside the style folder")


def read_json(folder: Path, name: str) -> Any:
    path = folder / name
    _inside(folder, path)
    if path.stat().st_size > MAX_JSON_BYTES:
        raise BrushworkError(f"{path}: {path.stat().st_size} bytes, more than a style file can be")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BrushworkError(f"{path}: not readable JSON ({exc})") from None


def check_weights_header(folder: Path, name: str) -> None:
    """Read the safetensors header with bounds: its claimed length, the tensors' dtypes and
    byte ranges against the file's real size, before the library allocates anything."""
    path = folder / name
    _inside(folder, path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise BrushworkError(f"{path}: too short to be a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if n > min(MAX_HEADER_BYTES, size - 8):
            raise BrushworkError(f"{path}: header claims {n} bytes, the file has {size}")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BrushworkError(f"{path}: not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict) or len(header) > MAX_TENSORS + 1:
        raise BrushworkError(f"{path}: not a safetensors file (bad header)")
    data = size - 8 - n
    total = 0
    for key, t in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(t, dict) or t.get("dtype") not in DTYPES:
            raise BrushworkError(
                f"{path}: tensor {key!r} has an unsupported dtype {t.get('dtype') if isinstance(t, dict) else t!r}"
            )
        shape, offsets = t.get("shape"), t.get("data_offsets")
        if not (isinstance(shape, list) and all(isinstance(d, int) and 0 <= d for d in shape)):
            raise BrushworkError(f"{path}: tensor {key!r} has a bad shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise BrushworkError(f"{path}: tensor {key!r} has bad offsets")
        count = 1
        for d in shape:
            count *= d
        nbytes = count * DTYPES[t["dtype"]]
        if not 0 <= offsets[0] <= offsets[1] <= data or offsets[1] - offsets[0] != nbytes:
            raise BrushworkError(f"{path}: tensor {key!r} claims bytes the file does not hold")
        total += nbytes
    if total > MAX_WEIGHT_BYTES:
        raise BrushworkError(f"{path}: {total} bytes of weights, more than any style needs")
